// uccerts console: confirmations, form reloads and the live views (a service action's
// events, the phones' registration counts, a runbook's steps). No framework, no build.
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

  // Runbooks: follow each step's state, every second. A step may restart the Cisco
  // Tomcat serving this page: a failed poll is tried again.
  var runbook = document.querySelector("[data-runbook]");
  if (runbook) {
    var stepsBody = document.querySelector("[data-steps]");
    var runbookProgress = runbook.querySelector("[data-progress]");
    var runbookMessage = runbook.querySelector("[data-message]");
    var resumeForm = document.querySelector("[data-resume]");
    var renderSteps = function (steps) {
      stepsBody.replaceChildren.apply(stepsBody, steps.map(function (s) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-step", String(s.n));
        [[String(s.n), ""], [s.node, ""], [s.action, "mono"], [s.detail, ""],
         [s.state, "state " + s.state], [s.output, "mono"]].forEach(function (cell) {
          var td = document.createElement("td");
          td.textContent = cell[0];
          if (cell[1]) { td.className = cell[1]; }
          tr.appendChild(td);
        });
        return tr;
      }));
    };
    var showRunbook = function (data) {
      var doc = data.runbook, job = data.job;
      var error = data.error;
      if (doc) {
        var name = document.querySelector("[data-runbook-name]");
        if (name) { name.textContent = doc.id + ": " + doc.purpose; }
        renderSteps(doc.steps);
        runbookProgress.textContent = doc.state + ": " + doc.done + " of " + doc.total +
          " steps done" + (data.active ? " (running here)" : "");
        runbook.setAttribute("data-state", doc.state);
        runbookMessage.hidden = !doc.message;
        runbookMessage.textContent = doc.message;
        if (job && window.location.pathname.indexOf("/runbooks/jobs/") === 0) {
          window.history.replaceState(null, "", "/runbooks/view?id=" + doc.id);
        }
      } else if (job && job.done) {
        runbookProgress.textContent = "Not started";
        runbook.setAttribute("data-state", "refused");
      }
      runbook.setAttribute("data-active", data.active ? "yes" : "no");
      runbook.querySelector("[data-error]").hidden = !error;
      if (error) {
        runbook.querySelector("[data-error-message]").textContent = error.message;
        runbook.querySelector("[data-error-fix]").textContent = error.fix;
      }
      if (resumeForm) {
        resumeForm.hidden = !data.resumable;
        if (doc) {
          resumeForm.querySelector("[data-resume-id]").value = String(doc.id);
          var folderRow = resumeForm.querySelector("[data-folder-row]");
          var folder = resumeForm.querySelector("[data-folder]");
          folderRow.hidden = !(doc.folder && doc.state === "waiting");
          if (folder && !folder.value) { folder.value = doc.folder; }
        }
      }
      // Keep following while it runs (here or elsewhere); stop once it rests.
      var resting = doc ? (!data.active && ["done", "failed", "waiting"].indexOf(doc.state) >= 0)
                        : (job && job.done);
      return !resting;
    };
    var pollRunbook = function () {
      fetch(runbook.getAttribute("data-runbook"), {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (data) { if (showRunbook(data)) { setTimeout(pollRunbook, 1000); } })
        .catch(function () {
          runbookProgress.textContent = "Waiting for the console to answer…";
          setTimeout(pollRunbook, 1000);
        });
    };
    pollRunbook();
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
