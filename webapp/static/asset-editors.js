// The form editor (form-js) and the decision-table editor (dmn-js): load, edit, deploy.
(function () {
  'use strict';
  var status = document.getElementById('pf-status');
  var csrf = (document.querySelector('meta[name=csrf-token]') || {}).content;

  function showProblems(body) {
    var list = document.getElementById('pf-problems');
    list.innerHTML = '';
    var error = (body && body.error) || {};
    (error.problems || []).forEach(function (problem) {
      var item = document.createElement('li');
      item.textContent = (problem.element_id ? problem.element_id + ': ' : '') + problem.message;
      list.appendChild(item);
    });
    status.textContent = error.message || '';
  }

  function deploy(url, payload) {
    status.textContent = '…';
    return fetch(url, {method: 'POST', credentials: 'same-origin',
                       headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
                       body: JSON.stringify(payload)})
      .then(function (response) {
        return response.json().then(function (body) {
          if (response.ok) { window.location.href = body.redirect; } else { showProblems(body); }
        });
      });
  }

  var formRoot = document.getElementById('pf-form-editor');
  if (formRoot && window.FormEditor) {
    fetch(formRoot.dataset.schemaUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); })
      .then(function (schema) {
        return window.FormEditor.createFormEditor({container: formRoot, schema: schema});
      })
      .then(function (editor) {
        document.getElementById('pf-deploy-form').addEventListener('click', function () {
          deploy(formRoot.dataset.deployUrl, {schema: editor.saveSchema()});
        });
      });
  }

  var dmnRoot = document.getElementById('pf-dmn-editor');
  if (dmnRoot && window.DmnJS) {
    var modeler = new window.DmnJS({container: dmnRoot, common: {keyboard: {bindTo: window}}});
    fetch(dmnRoot.dataset.xmlUrl, {credentials: 'same-origin'}).then(function (r) { return r.text(); })
      .then(function (xml) { return modeler.importXML(xml); })
      .then(function () {
        var table = modeler.getViews().filter(function (view) { return view.type === 'decisionTable'; })[0];
        if (table) { return modeler.open(table); }
      });
    document.getElementById('pf-deploy-decision').addEventListener('click', function () {
      modeler.saveXML({format: true}).then(function (result) {
        deploy(dmnRoot.dataset.deployUrl, {xml: result.xml});
      });
    });
  }
}());
