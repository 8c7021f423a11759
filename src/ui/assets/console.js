// steward console: live updates and the on-demand diff. The server tells an open page when its
// stack changed (server-sent events); the page then fetches itself again and swaps <main>, so
// what it shows is always what the server renders. No build step, no framework.
(function () {
  "use strict";
  var body = document.body;
  var stacks = body.dataset.live;
  var state = document.getElementById("live-state");
  var busy = false, again = false;

  function say(text) { if (state) { state.textContent = text; } }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (!fresh || !main) { return; }
        // The diff --live result was asked for by the person: it stays until asked again.
        var kept = main.querySelector("#live-diff");
        var slot = fresh.querySelector("#live-diff");
        if (kept && slot) { slot.replaceWith(kept); }
        main.replaceWith(fresh);
        body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
        say("live · updated " + new Date().toLocaleTimeString());
      })
      .catch(function () { say("reconnecting…"); })
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  if (stacks) {
    var source = new EventSource("/live?stacks=" + encodeURIComponent(stacks));
    var first = true;
    source.addEventListener("change", function () {
      // The first message is the state the page was rendered from.
      if (first) { first = false; say("live"); return; }
      refresh();
    });
    source.onopen = function () { say("live"); };
    source.onerror = function () { say("reconnecting…"); };
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("#check-live");
    if (!button) { return; }
    var slot = document.getElementById("live-diff");
    slot.textContent = "reading AWS…";
    fetch(button.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { slot.innerHTML = html; })
      .catch(function () { slot.textContent = "AWS could not be read; try again"; });
  });
})();
