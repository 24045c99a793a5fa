// Mount the form-js viewer for the current task or registration, show the server's
// field errors next to their fields, and post the data back as JSON.
(function () {
  'use strict';
  var mount = document.getElementById('pf-form');
  if (!mount || !window.FormViewer) { return; }
  var schema = JSON.parse(mount.dataset.schema);
  var values = JSON.parse(mount.dataset.values || '{}');
  var errors = JSON.parse(mount.dataset.errors || '{}');
  var messages = JSON.parse(mount.dataset.messages || '[]').map(function (pair) {
    return [new RegExp(pair[0]), pair[1]];
  });
  var calendar = JSON.parse(mount.dataset.calendar || '{}');

  // form-js has no translation hook for its own words ("Field is required.", "Select"): put the page's
  // language in their place as they appear.
  function translated(text) {
    var trimmed = text.trim();
    for (var i = 0; i < messages.length; i++) {
      var match = messages[i][0].exec(trimmed);
      if (match) { return messages[i][1].replace('$1', match[1] || ''); }
    }
    return null;
  }

  function translateWidget(root) {
    if (!messages.length) { return; }
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var text = translated(node.nodeValue);
      if (text !== null) { node.nodeValue = text; }
    }
    ['placeholder', 'title'].forEach(function (name) {
      Array.prototype.slice.call(root.querySelectorAll('[' + name + ']')).forEach(function (element) {
        var text = translated(element.getAttribute(name));
        if (text !== null) { element.setAttribute(name, text); }
      });
    });
  }

  // A date field's placeholder is letters in the browser's order ("yyyy/mm/dd"), a time field's
  // "hh:mm": each run of letters becomes the page's word for it, the separators stay.
  function lettersIn(input, letters) {
    var placeholder = input.getAttribute('placeholder');
    if (!letters || !placeholder) { return; }
    input.setAttribute('placeholder', placeholder.replace(/[a-z]+/g, function (run) {
      return Object.prototype.hasOwnProperty.call(letters, run) ? letters[run] : run;
    }));
  }

  // form-js opens each date picker (flatpickr) in English and has no option for its language: give
  // every calendar the page's once it exists (flatpickr keeps its instance on the input). set()
  // redraws months, weekdays and days; the month list's and year field's labels were written when
  // the calendar was made, so they are put right here.
  function localizeCalendars(root) {
    if (!calendar.locale) { return; }
    Array.prototype.slice.call(root.querySelectorAll('input.flatpickr-input')).forEach(function (input) {
      lettersIn(input, calendar.datePlaceholder);
      var picker = input._flatpickr;
      if (!picker || picker.pfLocalized) { return; }
      picker.pfLocalized = true;
      picker.set({ locale: calendar.locale, ariaDateFormat: calendar.ariaDateFormat });
      if (picker.monthsDropdownContainer) {
        picker.monthsDropdownContainer.setAttribute('aria-label', calendar.locale.monthAriaLabel);
      }
      (picker.yearElements || []).forEach(function (year) {
        year.setAttribute('aria-label', calendar.locale.yearAriaLabel);
      });
    });
    Array.prototype.slice.call(root.querySelectorAll('.fjs-timepicker input')).forEach(function (input) {
      lettersIn(input, calendar.timePlaceholder);
    });
  }

  function componentByKey(components, key) {
    for (var i = 0; i < components.length; i++) {
      var component = components[i];
      if (component.key === key) { return component; }
      var nested = componentByKey(component.components || [], key);
      if (nested) { return nested; }
    }
    return null;
  }

  function showServerErrors() {
    Object.keys(errors).forEach(function (key) {
      var component = componentByKey(schema.components || [], key);
      var input = component && mount.querySelector('[id$="-' + component.id + '"]');
      var field = input && input.closest('.fjs-form-field');
      if (!field) { return; }
      field.classList.add('fjs-has-errors', 'pf-server-error');
      var message = document.createElement('div');
      message.className = 'fjs-form-field-error pf-field-error';
      message.setAttribute('data-field', key);
      message.textContent = errors[key];
      field.appendChild(message);
    });
  }

  // A filepicker's value is a reference ("files::…") to File objects form-js keeps aside: the files
  // go in the same POST as parts named "files.<field key>" (multipart), the reference stays out of
  // the JSON data, and the server stores each file under its SHA-256.
  function attachFiles(post, data, files) {
    Array.prototype.slice.call(post.querySelectorAll('input[type=file]')).forEach(function (old) {
      old.remove();
    });
    Object.keys(data).forEach(function (key) {
      var component = componentByKey(schema.components || [], key);
      if (!component || component.type !== 'filepicker') { return; }
      var chosen = (files && data[key] && files.get(data[key])) || [];
      delete data[key];
      if (!chosen.length) { return; }
      var transfer = new DataTransfer();
      chosen.forEach(function (file) { transfer.items.add(file); });
      var input = document.createElement('input');
      input.type = 'file';
      input.name = 'files.' + key;
      input.multiple = true;
      input.hidden = true;
      input.files = transfer.files;
      post.appendChild(input);
      post.enctype = 'multipart/form-data';
    });
  }

  // No input debouncing: form-js otherwise holds the last 300 ms of typing back from the form's
  // data, and a quick click on our submit button would send (or validate) what was there before.
  window.FormViewer.createForm({ container: mount, schema: schema, data: values, debounce: false })
    .then(function (form) {
    showServerErrors();
    translateWidget(mount);
    localizeCalendars(mount);
    new MutationObserver(function () { translateWidget(mount); localizeCalendars(mount); })
      .observe(mount, { childList: true, subtree: true, characterData: true });
    form.on('submit', function (event) {
      if (Object.keys(event.errors || {}).length) { return; }
      var post = document.getElementById('pf-submit');
      attachFiles(post, event.data, event.files);
      document.getElementById('pf-data').value = JSON.stringify(event.data);
      post.submit();
    });
    // Plans' forms carry no button of their own: ours submits (form-js validates first).
    document.getElementById('pf-submit-button').addEventListener('click', function () { form.submit(); });
  });
}());
