// uccerts console: confirmations, form reloads and the two live views (a service
// action's events, the phones' registration counts). No framework, no build.
(function () {
  "use strict";

  function confirmed(el, event) {
    var text = el.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm")) { confirmed(form, event); }
  }, true);

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-confirm]") : null;
    if (link) { confirmed(link, event); }
  }, true);

  // A select that changes what the dialog offers (purpose, distribution): reload the
  // page with the new choice, as the appliance's dialog refreshes.
  document.querySelectorAll("select[data-reload]").forEach(function (select) {
    select.addEventListener("change", function () {
      var form = select.form, params = new URLSearchParams();
      ["node", "purpose", "distribution"].forEach(function (name) {
        var field = form.elements[name];
        if (field && field.value) { params.set(name, field.value); }
      });
      window.location.assign(select.getAttribute("data-reload") + "?" + params.toString());
    });
  });

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Control Center: follow a service action. While Cisco Tomcat restarts, the poll
  // fails for a moment (this page is served by it): keep asking.
  var job = document.querySelector("[data-job]");
  if (job) {
    var events = job.querySelector("[data-events]");
    var progress = job.querySelector("[data-progress]");
    var url = "/control-center/jobs/" + job.getAttribute("data-job") + "/status.json";
    var pollJob = function () {
      fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      }).then(function (data) {
        events.replaceChildren.apply(events, data.events.map(function (text) {
          var li = document.createElement("li"); li.textContent = text; return li;
        }));
        if (!data.done) { progress.textContent = "Working…"; setTimeout(pollJob, 400); return; }
        progress.textContent = data.ok ? "Done" : "Failed";
        job.setAttribute("data-done", data.ok ? "ok" : "failed");
        if (data.error) {
          job.querySelector("[data-error]").hidden = false;
          job.querySelector("[data-error-message]").textContent = data.error.message;
          job.querySelector("[data-error-fix]").textContent = data.error.fix;
        }
        if (data.result && data.result.certificate_sha256) {
          job.querySelector("[data-result]").hidden = false;
          job.querySelector("[data-result-sha]").textContent = data.result.certificate_sha256;
        }
      }).catch(function () {
        progress.textContent = "Waiting for the service to answer…";
        setTimeout(pollJob, 500);
      });
    };
    pollJob();
  }

  // Device registration: counts per node and state, every second.
  var live = document.querySelector("[data-registration]");
  if (live) {
    var states = ["REGISTERED", "UNREGISTERED", "REJECTED", "RESETTING"];
    var set = function (key, value) {
      var cell = live.querySelector('[data-count="' + key + '"]');
      if (cell) { cell.textContent = String(value); }
    };
    var showPhones = function (phones, matching) {
      var body = document.querySelector("[data-phones]");
      if (!body) { return; }
      body.replaceChildren.apply(body, phones.map(function (p) {
        var tr = document.createElement("tr");
        [["SEP" + p.mac, ""], [p.node, ""], [p.state, "state " + p.state.toLowerCase()],
         [p.reason, ""]].forEach(function (cell) {
          var td = document.createElement("td");
          td.textContent = cell[0];
          if (cell[1]) { td.className = cell[1]; }
          tr.appendChild(td);
        });
        return tr;
      }));
      var count = document.querySelector("[data-matching]");
      if (count) {
        count.textContent = matching + " phone(s)" +
          (matching > phones.length ? ", the first " + phones.length + " shown" : "");
      }
    };
    var pollCounts = function () {
      fetch(live.getAttribute("data-registration"), {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (data) {
          Object.keys(data.by_node).forEach(function (node) {
            var total = 0;
            states.forEach(function (s) { set(node + "|" + s, data.by_node[node][s]); total += data.by_node[node][s]; });
            set(node + "|total", total);
          });
          states.forEach(function (s) { set("*|" + s, data.by_state[s]); });
          set("*|total", data.total);
          var registered = data.by_state.REGISTERED;
          live.querySelector("[data-summary]").textContent = (data.total && registered === data.total)
            ? "All " + data.total + " phones are registered."
            : registered + " of " + data.total + " phones registered.";
          live.setAttribute("data-all-registered", data.total && registered === data.total ? "yes" : "no");
          live.querySelector("[data-updated]").textContent = data.at;
          if (data.phones) { showPhones(data.phones, data.matching); }
        })
        .catch(function () { /* the next poll tries again */ })
        .then(function () { setTimeout(pollCounts, 1000); });
    };
    pollCounts();
  }

  // Generate Self-signed: the warning names the purpose chosen.
  var selfSigned = document.querySelector("form[data-confirm-template]");
  if (selfSigned) {
    var purpose = selfSigned.elements.purpose;
    var update = function () {
      var text = selfSigned.getAttribute("data-confirm-template").replace("{purpose}", purpose.value);
      selfSigned.setAttribute("data-confirm", text);
      var shown = selfSigned.querySelector("[data-warning]");
      if (shown) { shown.textContent = text; }
    };
    purpose.addEventListener("change", update);
  }
}());
