// Page behaviour that would otherwise be inline script (the Content-Security-Policy allows none).
(function () {
  'use strict';
  var modeler = document.getElementById('pf-modeler');
  if (modeler && window.PlanFlowModeler) { window.PlanFlowModeler.mount(modeler); }
  var viewer = document.getElementById('pf-viewer');
  if (viewer && window.PlanFlowModeler) { window.PlanFlowModeler.view(viewer); }
  document.querySelectorAll('select[data-submit-on-change]').forEach(function (select) {
    select.addEventListener('change', function () { select.form.submit(); });
  });
})();
