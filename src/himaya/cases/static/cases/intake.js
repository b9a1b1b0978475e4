/* The guided intake, for comfort only: every page works without it.
 *
 * - With JavaScript (and so htmx) the commune list follows the province by itself, so the
 *   "Show its communes" buttons are hidden (intake.css).
 * - What is typed is saved in the background a moment after each change (the server's
 *   "autosave" action: saved, nothing else happens), so an interview interrupted in the
 *   middle of a step loses nothing. Only a change by the officer triggers it: no timer
 *   keeps an idle session alive.
 *
 * No inline code anywhere: the CSP forbids it.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("intake-js");

  var form = document.getElementById("intake-form");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var timer = null;

  function save() {
    timer = null;
    var data = new FormData(form);
    data.set("action", "autosave");
    // The step posts to its own address (not form.action: the buttons named "action"
    // shadow that property).
    window
      .fetch(window.location.pathname, {
        method: "POST",
        body: data,
        credentials: "same-origin",
      })
      .catch(function () {
        /* The next change, or the step's own button, saves again. */
      });
  }

  form.addEventListener("change", function () {
    if (timer !== null) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(save, 1500);
  });
})();
