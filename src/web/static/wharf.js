// Wharf's only script: copy buttons, delete confirmations, and asset uploads with progress.
// It never builds markup from strings: every user-visible value goes through textContent.
'use strict';

(function () {
  function onReady(fn) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn);
    else fn();
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function humanSize(bytes) {
    var units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
    if (bytes < 1024) return bytes + ' bytes';
    var v = bytes,
      u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return (v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')) + ' ' + units[u];
  }

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

  function uploadFile(uploader, file) {
    var list = uploader.querySelector('.uploads');
    var row = el('li', 'upload');
    var name = el('span', 'file-name', file.name);
    var size = el('span', 'muted', humanSize(file.size));
    var cancel = el('button', 'small', 'Cancel');
    cancel.type = 'button';
    var progress = el('progress');
    progress.max = 100;
    progress.value = 0;
    var status = el('span', 'status', 'Waiting…');
    row.append(name, size, cancel, progress, status);
    list.appendChild(row);

    var xhr = new XMLHttpRequest();
    var url = uploader.getAttribute('data-upload-url') + '?name=' + encodeURIComponent(file.name);
    xhr.open('POST', url);
    xhr.setRequestHeader('X-CSRF-Token', uploader.getAttribute('data-csrf'));
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.floor((e.loaded / e.total) * 100);
      progress.value = pct;
      status.textContent = pct + '% · ' + humanSize(e.loaded) + ' of ' + humanSize(e.total);
    });
    xhr.addEventListener('load', function () {
      cancel.remove();
      var body;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = null;
      }
      if (xhr.status === 201 && body) {
        progress.value = 100;
        row.classList.add('done');
        status.textContent = 'Uploaded · ' + (body.digest || '');
        row.setAttribute('data-digest', body.digest || '');
      } else {
        row.classList.add('failed');
        var detail = body && body.errors && body.errors[0] && (body.errors[0].message || body.errors[0].field + ' ' + body.errors[0].code);
        status.textContent = 'Failed: ' + (detail || (body && body.message) || 'HTTP ' + xhr.status);
      }
    });
    xhr.addEventListener('error', function () {
      cancel.remove();
      row.classList.add('failed');
      status.textContent = 'Failed: the connection was lost.';
    });
    xhr.addEventListener('abort', function () {
      cancel.remove();
      row.classList.add('failed');
      status.textContent = 'Cancelled';
    });
    cancel.addEventListener('click', function () {
      xhr.abort();
    });
    status.textContent = 'Uploading…';
    xhr.send(file);
  }

  function setupUploaders() {
    document.querySelectorAll('.uploader').forEach(function (uploader) {
      var zone = uploader.querySelector('.dropzone');
      var input = uploader.querySelector('.file-input');
      var send = function (files) {
        Array.prototype.forEach.call(files, function (f) {
          uploadFile(uploader, f);
        });
      };
      input.addEventListener('change', function () {
        send(input.files);
        input.value = '';
      });
      zone.addEventListener('dragover', function (e) {
        e.preventDefault();
        zone.classList.add('over');
      });
      zone.addEventListener('dragleave', function () {
        zone.classList.remove('over');
      });
      zone.addEventListener('drop', function (e) {
        e.preventDefault();
        zone.classList.remove('over');
        if (e.dataTransfer && e.dataTransfer.files) send(e.dataTransfer.files);
      });
    });
  }

  onReady(function () {
    setupCopyButtons();
    setupConfirmations();
    setupUploaders();
  });
})();
