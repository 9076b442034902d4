// DOM helpers shared by Wharf's page scripts (wharf.js, uploader.js, release-editor.js). The
// layout loads this first, deferred like the others, so it has run before any of them: deferred
// scripts run in document order. It only defines window.WharfDom; it changes no page.
'use strict';

(function () {
  /** Runs fn once the document is parsed (at once if it already is). */
  function onReady(fn) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn);
    else fn();
  }

  /** A new element; text goes through textContent, never markup. */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  window.WharfDom = Object.freeze({ onReady: onReady, el: el });
})();
