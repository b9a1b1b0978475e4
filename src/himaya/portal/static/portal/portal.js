/* Comfort only: the portal works without this file.
 * - Quick exit (button or Escape) replaces the current history entry.
 * - Links and forms inside the portal load in place (fetch + replaceState), so the whole
 *   visit stays ONE history entry, which quick exit then replaces: Back does not return here.
 * - An optional proof of work on the last step of the report form.
 */
(function () {
  "use strict";
  var exitUrl = "/p/exit/";
  function leave() { window.location.replace(exitUrl); }
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { leave(); } });
  function inPortal(url) { return url.origin === window.location.origin && url.pathname.indexOf("/p/") === 0; }
  function show(html, url) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.documentElement.setAttribute("lang", doc.documentElement.getAttribute("lang") || "");
    document.documentElement.setAttribute("dir", doc.documentElement.getAttribute("dir") || "ltr");
    document.body.replaceWith(document.adoptNode(doc.body));
    if (url) { window.history.replaceState(null, "", url); }
    var target = document.querySelector("[role=alert]") || document.querySelector("h1");
    if (target) { target.setAttribute("tabindex", "-1"); target.focus(); }
  }
  function load(url, options) {
    return fetch(url, options).then(function (r) {
      if (r.redirected && !inPortal(new URL(r.url))) { leave(); return; }
      return r.text().then(function (t) { show(t, r.url); });
    }).catch(function () { window.location.replace(url); });
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[href]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey) { return; }
    if (a.hasAttribute("data-exit")) { e.preventDefault(); leave(); return; }
    var url = new URL(a.href, window.location.href);
    if (a.hash && url.pathname === window.location.pathname) { return; }
    if (!inPortal(url) || a.getAttribute("href").indexOf("tel:") === 0) { return; }
    e.preventDefault();
    load(url.href, { credentials: "same-origin" });
  });
  function powSolve(challenge, bits) {
    var enc = new TextEncoder(), n = 0;
    function ok(buf) {
      var b = new Uint8Array(buf), full = bits >> 3, rest = bits & 7, i;
      for (i = 0; i < full; i++) { if (b[i] !== 0) { return false; } }
      return rest === 0 || (b[full] >> (8 - rest)) === 0;
    }
    function step() {
      var batch = [], i;
      for (i = 0; i < 64; i++, n++) { batch.push(crypto.subtle.digest("SHA-256", enc.encode(challenge + ":" + n.toString(36)))); }
      return Promise.all(batch).then(function (res) {
        for (i = 0; i < res.length; i++) { if (ok(res[i])) { return (n - res.length + i).toString(36); } }
        return n > 4000000 ? "" : step();
      });
    }
    return step();
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.hasAttribute("data-download") || !inPortal(new URL(form.action))) { return; }
    e.preventDefault();
    var data = new FormData(form);
    if (e.submitter && e.submitter.name) { data.set(e.submitter.name, e.submitter.value); }
    var ready = Promise.resolve();
    if (form.hasAttribute("data-pow") && window.crypto && crypto.subtle && (!e.submitter || e.submitter.value !== "back")) {
      ready = powSolve(form.getAttribute("data-pow"), parseInt(form.getAttribute("data-bits"), 10) || 16)
        .then(function (nonce) { data.set("pow", nonce); }).catch(function () {});
    }
    ready.then(function () { load(form.action, { method: "POST", body: data, credentials: "same-origin" }); });
  });
}());
