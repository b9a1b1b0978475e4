/* Himaya staff shell. Loaded with `defer` from our own origin; no inline script anywhere.
 *
 * htmx requests carry the CSRF token in the X-CSRFToken header. The CSRF cookie is
 * HttpOnly, so the token comes from the <meta name="csrf-token"> tag of base.html.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });
})();
