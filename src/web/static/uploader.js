// The release form's uploader: files picked or dropped upload at once with tus (tus-js-client,
// served by Wharf as /static/tus.js) to the uploads host's resumable endpoint, as the signed-in
// session with its CSRF token. An upload survives a dropped connection (tus retries, and waits
// for the browser to be back online) and a page reload (tus-js-client remembers the upload's URL
// under the file's fingerprint; picking the same file again continues it). On the new-release
// form the first file creates a draft from the form's fields, and the form then edits and
// publishes that draft. Every user-visible value goes through textContent.
/* global tus, WharfDom */
'use strict';

(() => {
  // Each request carries 16 MiB: a multiple of the S3 staging's 8 MiB part (no tail objects), small
  // enough that a connection that died silently (a laptop's Wi-Fi gone, where the browser only
  // learns it is offline) costs one short request, and under common proxy body limits.
  var CHUNK_SIZE = 16 * 1024 * 1024;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
  var SPEED_WINDOW_MS = 5000;

  var onReady = WharfDom.onReady;
  var el = WharfDom.el;

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

  function humanDuration(seconds) {
    if (!isFinite(seconds)) return '';
    var s = Math.max(1, Math.round(seconds));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  function button(text, className) {
    var b = el('button', 'small' + (className ? ' ' + className : ''), text);
    b.type = 'button';
    return b;
  }

  function labelled(text, input) {
    var label = el('label', 'inline-field');
    label.append(text + ' ', input);
    return label;
  }

  /** The message of a failed tus request: Wharf's JSON error body when there is one. */
  function tusErrorMessage(err) {
    var res = err && err.originalResponse;
    if (res) {
      try {
        var body = JSON.parse(res.getBody());
        var first = body.errors && body.errors[0];
        var detail = first && (first.message || (first.field ? first.field + ' ' + first.code : first.code));
        return detail ? body.message + ': ' + detail : body.message || 'HTTP ' + res.getStatus();
      } catch (e) {
        return 'HTTP ' + res.getStatus();
      }
    }
    return (err && err.message) || 'the connection was lost.';
  }

  function jsonErrors(json, status) {
    if (json && json.errors && json.errors.length) {
      return json.errors
        .map((e) => {
          return typeof e === 'string' ? e : e.message || e.field + ' ' + e.code;
        })
        .join(' ');
    }
    return (json && json.message) || 'HTTP ' + status;
  }

  class Uploader {
    constructor(root) {
      this.root = root;
      this.form = document.querySelector('form.release-form');
      this.csrf = root.getAttribute('data-csrf');
      this.endpoint = root.getAttribute('data-endpoint') || '';
      this.assetBase = root.getAttribute('data-asset-url');
      this.draftUrl = root.getAttribute('data-draft-url') || '';
      this.list = root.querySelector('.uploads');
      this.status = root.querySelector('.uploader-status');
      this.rows = [];
      this.draft = null;
    }

    say(text) {
      this.status.textContent = text;
    }

    busy() {
      return this.rows.some((r) => {
        return r.active;
      });
    }

    /** The tus endpoint, creating the draft first on the new-release form. */
    ensureEndpoint() {
      if (this.endpoint) return Promise.resolve(this.endpoint);
      if (this.draft) return this.draft;
      var fields = new URLSearchParams(new FormData(this.form));
      fields.delete('intent');
      this.say('Saving a draft to upload into…');
      this.draft = fetch(this.draftUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': this.csrf, Accept: 'application/json' },
        body: fields.toString(),
      })
        .then((res) => {
          return res
            .json()
            .catch(() => {
              return null;
            })
            .then((json) => {
              if (res.status !== 201 || !json) throw new Error(jsonErrors(json, res.status));
              return json;
            });
        })
        .then((draft) => {
          this.endpoint = draft.upload_url;
          this.root.setAttribute('data-endpoint', draft.upload_url);
          // From now on the form edits (and publishes) that draft, and a reload opens it.
          this.form.setAttribute('action', draft.edit_url);
          history.replaceState(null, '', draft.edit_url);
          var publish = this.form.querySelector('button[value="publish"]');
          if (publish) publish.textContent = 'Publish release';
          this.say('Saved as a draft: the files upload into it, and nothing is lost if this page closes.');
          return this.endpoint;
        })
        .catch((err) => {
          this.draft = null;
          this.say('Could not save a draft for the files: ' + err.message + ' Fix the form; the files start uploading when it changes.');
          throw err;
        });
      return this.draft;
    }

    add(file) {
      var row = new UploadRow(this, file);
      this.rows.push(row);
      this.list.appendChild(row.node);
      row.begin();
    }

    /** Files waiting for a draft start again when the form changes (a tag typed in, say). */
    retryWaiting() {
      var waiting = this.rows.filter((r) => {
        return r.waitingForDraft;
      });
      waiting.forEach((r) => {
        r.begin();
      });
    }

    /** Unfinished uploads of this release this browser remembers: offered to continue. */
    offerUnfinished() {
      if (!this.endpoint || !window.tus || !tus.defaultOptions.urlStorage) return;
      var marker = '-' + this.endpoint + '::';
      tus.defaultOptions.urlStorage.findAllUploads().then((entries) => {
        entries
          .filter((e) => {
            return e.urlStorageKey.indexOf(marker) !== -1 && e.uploadUrl;
          })
          .forEach((entry) => {
            this.offer(entry);
          });
      });
    }

    offer(entry) {
      var name = (entry.metadata && entry.metadata.name) || 'a file';
      var node = el('li', 'upload unfinished');
      node.setAttribute('data-upload-url', entry.uploadUrl);
      var head = el('div', 'upload-head');
      head.append(el('span', 'file-name', name), el('span', 'muted', humanSize(entry.size)));
      var status = el('p', 'status', 'Unfinished upload: pick or drop the same file to continue it.');
      var discard = button('Discard');
      head.append(discard);
      node.append(head, status);
      this.list.appendChild(node);
      fetch(entry.uploadUrl, { method: 'HEAD', credentials: 'same-origin', headers: { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': this.csrf } }).then((res) => {
        if (res.status === 404) {
          tus.defaultOptions.urlStorage.removeUpload(entry.urlStorageKey);
          node.remove();
          return;
        }
        var offset = Number(res.headers.get('Upload-Offset'));
        if (res.ok && isFinite(offset) && entry.size) {
          status.textContent = 'Unfinished upload, ' + Math.floor((offset / entry.size) * 100) + '% stored: pick or drop the same file to continue it.';
        }
      });
      discard.addEventListener('click', () => {
        discard.disabled = true;
        tus.Upload.terminate(entry.uploadUrl, { headers: { 'X-CSRF-Token': this.csrf } })
          .catch(() => {})
          .then(() => {
            tus.defaultOptions.urlStorage.removeUpload(entry.urlStorageKey);
            node.remove();
          });
      });
    }

    /** Removes the offer of an unfinished upload once a row continues it. */
    continued(uploadUrl) {
      this.list.querySelectorAll('li.unfinished').forEach((node) => {
        if (node.getAttribute('data-upload-url') === uploadUrl) node.remove();
      });
    }
  }

  class UploadRow {
    constructor(uploader, file) {
      this.uploader = uploader;
      this.file = file;
      this.assetId = null;
      this.upload = null;
      this.active = false;
      this.waitingForDraft = false;
      this.offline = false;
      this.samples = [];
      this.savedName = file.name;
      this.savedLabel = '';

      var node = el('li', 'upload');
      var head = el('div', 'upload-head');
      this.nameNode = el('span', 'file-name', file.name);
      this.cancel = button('Cancel');
      this.retry = button('Retry');
      this.retry.hidden = true;
      head.append(this.nameNode, el('span', 'muted', humanSize(file.size)), this.cancel, this.retry);
      this.progress = el('progress');
      this.progress.max = 100;
      this.progress.value = 0;
      this.progress.setAttribute('aria-label', 'Upload of ' + file.name);
      this.statusNode = el('p', 'status', 'Waiting…');
      var fields = el('div', 'upload-fields');
      this.nameInput = el('input');
      this.nameInput.name = 'asset_name';
      this.nameInput.value = file.name;
      this.nameInput.spellcheck = false;
      this.labelInput = el('input');
      this.labelInput.name = 'asset_label';
      this.labelInput.placeholder = 'Optional';
      this.save = button('Save name and label');
      fields.append(labelled('Name', this.nameInput), labelled('Label', this.labelInput), this.save);
      node.append(head, this.progress, this.statusNode, fields);
      this.node = node;
      this.cancel.addEventListener('click', () => {
        this.stop();
      });
      this.retry.addEventListener('click', () => {
        this.begin();
      });
      this.save.addEventListener('click', () => {
        this.applyNameAndLabel(true);
      });
    }

    setStatus(text) {
      this.statusNode.textContent = text;
    }

    begin() {
      this.retry.hidden = true;
      this.cancel.hidden = false;
      this.node.classList.remove('failed');
      this.active = true;
      this.waitingForDraft = false;
      this.setStatus('Starting…');
      this.uploader
        .ensureEndpoint()
        .then((endpoint) => {
          this.start(endpoint);
        })
        .catch(() => {
          this.active = false;
          this.waitingForDraft = true;
          this.setStatus('Waiting for a draft release to upload into.');
        });
    }

    start(endpoint) {
      if (this.upload) {
        // A retry: the same tus upload continues from the server's offset (or is created anew
        // when its creation failed, with the name now in the field).
        this.upload.options.metadata.name = this.nameInput.value;
        this.upload.options.metadata.label = this.labelInput.value;
        this.upload.start();
        return;
      }
      var file = this.file;
      this.upload = new tus.Upload(file, {
        endpoint: endpoint,
        chunkSize: CHUNK_SIZE,
        retryDelays: RETRY_DELAYS,
        removeFingerprintOnSuccess: true,
        headers: { 'X-CSRF-Token': this.uploader.csrf },
        metadata: { name: this.nameInput.value, label: this.labelInput.value, content_type: file.type || 'application/octet-stream' },
        onAfterResponse: (_req, res) => {
          var id = res.getHeader('X-Wharf-Asset-Id');
          if (id && this.assetId === null) {
            this.assetId = id;
            this.savedName = this.upload.options.metadata.name;
            this.savedLabel = this.upload.options.metadata.label;
            // A name or label changed while the upload was being created.
            if (this.nameInput.value !== this.savedName || this.labelInput.value !== this.savedLabel) this.applyNameAndLabel(false);
          }
        },
        onProgress: (sent, total) => {
          this.progressed(sent, total);
        },
        onSuccess: () => {
          this.finished();
        },
        onError: (err) => {
          this.failed(err);
        },
      });
      this.upload.findPreviousUploads().then((previous) => {
        if (previous.length) {
          this.upload.resumeFromPreviousUpload(previous[0]);
          this.uploader.continued(previous[0].uploadUrl);
          this.setStatus('Continuing an unfinished upload…');
        } else {
          this.setStatus('Uploading…');
        }
        this.upload.start();
      });
    }

    progressed(sent, total) {
      var now = Date.now();
      this.offline = false;
      this.samples.push({ t: now, bytes: sent });
      while (this.samples.length > 2 && now - this.samples[0].t > SPEED_WINDOW_MS) this.samples.shift();
      var first = this.samples[0];
      var elapsed = (now - first.t) / 1000;
      var speed = elapsed > 0.2 ? (sent - first.bytes) / elapsed : 0;
      var pct = total ? Math.floor((sent / total) * 100) : 100;
      this.progress.value = pct;
      var text = pct + '% · ' + humanSize(sent) + ' of ' + humanSize(total);
      if (speed > 0 && sent < total) text += ' · ' + humanSize(speed) + '/s · ' + humanDuration((total - sent) / speed) + ' left';
      this.setStatus(text);
    }

    finished() {
      this.active = false;
      this.cancel.hidden = true;
      this.progress.value = 100;
      this.setStatus('Stored; reading its digest…');
      this.fetchAsset().then(
        (asset) => {
          this.node.classList.add('done');
          this.node.setAttribute('data-digest', asset.digest || '');
          this.node.setAttribute('data-asset-id', String(asset.id));
          this.nameNode.textContent = asset.name;
          this.setStatus('Uploaded · ' + (asset.digest || ''));
        },
        (err) => {
          this.node.classList.add('done');
          this.setStatus('Uploaded (' + err.message + ')');
        },
      );
    }

    failed(err) {
      if (navigator.onLine === false) {
        // tus-js-client does not retry while offline: continue when the browser is back.
        this.offline = true;
        this.setStatus('Offline: the upload continues when the connection is back.');
        var resume = () => {
          window.removeEventListener('online', resume);
          if (this.offline && this.active) {
            this.setStatus('Back online: continuing…');
            this.upload.start();
          }
        };
        window.addEventListener('online', resume);
        return;
      }
      this.active = false;
      this.node.classList.add('failed');
      this.cancel.hidden = true;
      this.retry.hidden = false;
      this.setStatus('Failed: ' + tusErrorMessage(err));
    }

    stop() {
      this.active = false;
      this.offline = false;
      this.cancel.hidden = true;
      this.node.classList.add('failed');
      this.setStatus('Cancelled');
      if (this.upload) {
        // Terminates the upload: its claim on the name and its bytes go at once.
        this.upload.abort(true).catch(() => {
          this.setStatus('Cancelled (the server removes the unfinished upload when it expires)');
        });
      }
    }

    assetUrl() {
      return this.uploader.assetBase + encodeURIComponent(this.assetId);
    }

    fetchAsset() {
      if (this.assetId === null) return Promise.reject(new Error('the asset is unknown'));
      return fetch(this.assetUrl(), { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then((res) => {
        return res.json().then((json) => {
          if (!res.ok) throw new Error(jsonErrors(json, res.status));
          return json;
        });
      });
    }

    /** Renames and relabels the asset (the API's PATCH), now or as soon as the upload has created it. */
    applyNameAndLabel(asked) {
      var name = this.nameInput.value.trim();
      var label = this.labelInput.value;
      if (this.assetId === null) {
        if (this.upload && this.upload.url === null && !this.active) {
          this.setStatus('The new name is used when you retry.');
        } else if (asked) {
          this.setStatus('The name and label are saved as soon as the upload has started.');
        }
        return;
      }
      if (name === this.savedName && label === this.savedLabel) return;
      this.save.disabled = true;
      var status = this.statusNode.textContent;
      fetch(this.assetUrl(), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': this.uploader.csrf, Accept: 'application/json' },
        body: new URLSearchParams({ name: name, label: label }).toString(),
      })
        .then((res) => {
          return res.json().then((json) => {
            if (!res.ok) throw new Error(jsonErrors(json, res.status));
            return json;
          });
        })
        .then((asset) => {
          this.savedName = asset.name;
          this.savedLabel = asset.label || '';
          this.nameInput.value = asset.name;
          this.labelInput.value = asset.label || '';
          this.nameNode.textContent = asset.name;
          this.node.setAttribute('data-saved', 'true');
          if (!this.active) this.setStatus(status.indexOf('Uploaded') === 0 ? status : 'Name and label saved.');
        })
        .catch((err) => {
          this.setStatus('Could not save the name and label: ' + err.message);
        })
        .then(() => {
          this.save.disabled = false;
        });
    }
  }

  function setup(root) {
    if (!window.tus || !tus.isSupported) return;
    var uploader = new Uploader(root);
    var zone = root.querySelector('.dropzone');
    var input = root.querySelector('.file-input');
    var send = (files) => {
      Array.prototype.forEach.call(files, (f) => {
        uploader.add(f);
      });
    };
    root.hidden = false;
    input.addEventListener('change', () => {
      send(input.files);
      input.value = '';
    });
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => {
      zone.classList.remove('over');
    });
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      if (e.dataTransfer && e.dataTransfer.files) send(e.dataTransfer.files);
    });
    if (uploader.form) {
      uploader.form.addEventListener('change', () => {
        uploader.retryWaiting();
      });
      // Publishing while files are still uploading would publish without them.
      uploader.form.addEventListener('submit', (event) => {
        var submitter = event.submitter;
        if (submitter && submitter.value === 'publish' && uploader.busy()) {
          event.preventDefault();
          uploader.say('Wait for the uploads to finish (or cancel them) before publishing.');
        }
      });
    }
    uploader.offerUnfinished();
  }

  onReady(() => {
    document.querySelectorAll('.uploader').forEach(setup);
  });
})();
