// Wharf's script on every page: copy buttons and delete confirmations (the release form's
// uploader and notes helpers have scripts of their own).
// It never builds markup from strings: every user-visible value goes through textContent.
/* global WharfDom */
'use strict';

(function () {
  var onReady = WharfDom.onReady;
  var el = WharfDom.el;

  function setupCopyButtons() {
    document.addEventListener('click', function (event) {
      var button = event.target.closest && event.target.closest('button[data-copy]');
      if (!button) return;
      var value = button.getAttribute('data-copy');
      var done = function () {
        var before = button.textContent;
        button.textContent = 'Copied';
        setTimeout(function () {
          button.textContent = before;
        }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(value).then(done, function () {});
      else {
        var area = el('textarea');
        area.value = value;
        document.body.appendChild(area);
        area.select();
        try {
          document.execCommand('copy');
          done();
        } catch (e) {
          /* nothing to do */
        }
        area.remove();
      }
    });
  }

  function setupConfirmations() {
    document.addEventListener('submit', function (event) {
      var form = event.target;
      if (form.classList && form.classList.contains('confirm') && !window.confirm(form.getAttribute('data-confirm') || 'Are you sure?')) {
        event.preventDefault();
      }
    });
  }

  onReady(function () {
    setupCopyButtons();
    setupConfirmations();
  });
})();
