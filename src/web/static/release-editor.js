// The release form's notes helpers: Preview (the server renders the Markdown with the renderer
// and sanitizer of body_html; the answer is inserted as is) and Generate release notes (fills
// the notes, and the title when empty, from the API's generator). Loaded on the release form
// only; without it the form works and these buttons stay hidden. Messages go through
// textContent; the only markup inserted is the server's sanitized preview.
/* global WharfDom */
'use strict';

(function () {
  var onReady = WharfDom.onReady;

  function post(url, csrf, fields) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf },
      body: new URLSearchParams(fields).toString(),
    });
  }

  function setup(tools) {
    var form = tools.closest('form');
    if (!form) return;
    var textarea = form.querySelector('textarea[name="body"]');
    var title = form.querySelector('input[name="name"]');
    var tag = form.querySelector('input[name="tag_name"]');
    var target = form.querySelector('input[name="target_commitish"]');
    var previous = tools.querySelector('select[name="previous_tag_name"]');
    var status = tools.querySelector('.notes-status');
    var preview = form.querySelector('.notes-preview');
    var previewButton = tools.querySelector('.preview-notes');
    var generateButton = tools.querySelector('.generate-notes');
    var csrf = tools.getAttribute('data-csrf');
    tools.hidden = false;

    function say(text) {
      status.textContent = text;
    }

    function showWrite() {
      preview.hidden = true;
      textarea.hidden = false;
      previewButton.textContent = 'Preview';
      previewButton.setAttribute('aria-pressed', 'false');
    }

    previewButton.addEventListener('click', function () {
      if (!preview.hidden) {
        showWrite();
        textarea.focus();
        return;
      }
      say('Rendering the preview…');
      post(tools.getAttribute('data-preview-url'), csrf, { body: textarea.value })
        .then(function (res) {
          return res.text().then(function (text) {
            if (!res.ok) throw new Error('The preview failed (' + res.status + ').');
            return text;
          });
        })
        .then(function (sanitized) {
          preview.innerHTML = sanitized;
          preview.hidden = false;
          textarea.hidden = true;
          previewButton.textContent = 'Write';
          previewButton.setAttribute('aria-pressed', 'true');
          say('');
          preview.focus();
        })
        .catch(function (err) {
          say(err.message);
        });
    });

    generateButton.addEventListener('click', function () {
      if (textarea.value.trim() !== '' && !window.confirm('Replace the notes with generated ones?')) return;
      say('Generating release notes…');
      generateButton.disabled = true;
      post(tools.getAttribute('data-generate-url'), csrf, {
        tag_name: tag ? tag.value : '',
        target_commitish: target ? target.value : '',
        previous_tag_name: previous ? previous.value : '',
      })
        .then(function (res) {
          return res
            .json()
            .catch(function () {
              return {};
            })
            .then(function (json) {
              if (!res.ok) throw new Error((json.errors || ['Generating the notes failed (' + res.status + ').']).join(' '));
              return json;
            });
        })
        .then(function (notes) {
          textarea.value = notes.body;
          if (title && title.value.trim() === '') title.value = notes.name;
          showWrite();
          say('Release notes generated.');
        })
        .catch(function (err) {
          say(err.message);
        })
        .then(function () {
          generateButton.disabled = false;
        });
    });
  }

  onReady(function () {
    document.querySelectorAll('.notes-tools').forEach(setup);
  });
})();
