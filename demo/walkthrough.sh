#!/usr/bin/env bash
# The seed's procedure, step by step, against a fresh demo cluster running live
# (`uccerts serve`: every service a TLS listener, 20 phones) and the lab CA: the
# tomcat steps with the classic mistakes and their fixes, the new certificate served
# only after Cisco Tomcat restarts, then CallManager regenerated, its services
# restarted and the phones reset and re-registered. Every command shown is what an
# administrator would type. In a terminal the cluster keeps running at the end
# (Ctrl-C stops it); otherwise it is stopped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
UCCERTS=${UCCERTS:-uccerts}
export UCCERTS_HOME=${UCCERTS_HOME:-$(cd "$here/.." && pwd)/demo-home}
work="$UCCERTS_HOME/files"
rm -rf "$UCCERTS_HOME"
# The home holds secrets: private to its owner (uccerts warns when it is not).
mkdir -p -m 700 "$UCCERTS_HOME"
mkdir -p "$work"

bold=$(printf '\033[1m'); dim=$(printf '\033[2m'); off=$(printf '\033[0m')
[ -t 1 ] || { bold=""; dim=""; off=""; }
step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off"; }
# Print the command as typed: arguments with spaces or wildcards in quotes.
show() {
  local line="" a
  for a in "$@"; do
    case "$a" in *[[:space:]]*|*'*'*) line+=" \"$a\"";; *) line+=" $a";; esac
  done
  printf '%s$ uccerts%s%s\n' "$dim" "$line" "$off"
}
run() { show "$@"; "$UCCERTS" "$@"; }
# A step that must be refused: show the refusal and carry on only if it was refused.
refused() {
  show "$@"
  if "$UCCERTS" "$@"; then echo "expected a refusal, got success" >&2; exit 1; fi
  printf '%s(refused as expected: nothing was changed)%s\n' "$dim" "$off"
}

step "Create the cluster: every node gets self-signed certificates"
run cluster init --topology "$here/lab.toml"

step "Run it: every activated service listens on its node's address; phones boot"
"$UCCERTS" serve --json > "$UCCERTS_HOME/serve.json" 2> "$UCCERTS_HOME/serve.log" &
serve_pid=$!
stop_serve() {
  if kill -0 "$serve_pid" 2>/dev/null; then kill -TERM "$serve_pid"; wait "$serve_pid" || true; fi
}
trap stop_serve EXIT
for _ in $(seq 1 120); do
  [ -s "$UCCERTS_HOME/serve.json" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$UCCERTS_HOME/serve.log" >&2; exit 1; }
  sleep 0.5
done
[ -s "$UCCERTS_HOME/serve.json" ] || { echo "serve did not start" >&2; exit 1; }
printf '%s$ uccerts serve%s   (running in the background, pid %s; log in %s)\n' \
  "$dim" "$off" "$serve_pid" "$UCCERTS_HOME/serve.log"
run service list cucm-pub
run phones status --wait

step "Step 1. Check the tomcat certificates and their expiry"
run cert list --purpose tomcat --type own

step "A lab CA plays the enterprise CA"
run ca init

step "Step 2. Generate CSR, purpose tomcat, on the publisher"
run csr generate cucm-pub tomcat

step "Step 3. Download the CSR"
run csr download cucm-pub tomcat -o "$work/cucm-pub-tomcat.csr"
run decode "$work/cucm-pub-tomcat.csr"

step "Step 4. The CA signs it, but adds names of its own (the seed's SAN example)"
run ca sign "$work/cucm-pub-tomcat.csr" -o "$work/bad" \
  --add-san cucm-pub-ms.uc.example --add-san '*.uc.example'

step "Step 5, out of order: the signed certificate before its root is trusted"
refused cert upload cucm-pub tomcat "$work/bad/leaf.pem"

step "Step 5. Upload the root, then the intermediate, to tomcat-trust"
run cert upload cucm-pub tomcat-trust "$work/bad/root.pem" --description "Lab root CA"
run cert upload cucm-pub tomcat-trust "$work/bad/intermediate.pem" \
  --description "Lab issuing CA"

step "Step 5. Upload the CA-signed certificate: SAN mismatch and wildcard"
refused cert upload cucm-pub tomcat "$work/bad/leaf.pem"

step "The offline check tells the same before any upload"
refused check tomcat --csr "$work/cucm-pub-tomcat.csr" --cert "$work/bad/leaf.pem" \
  --ca "$work/bad/root.pem" --ca "$work/bad/intermediate.pem"

step "The fix: ask the CA for exactly the CSR's names"
run ca sign "$work/cucm-pub-tomcat.csr" -o "$work/good"
run check tomcat --csr "$work/cucm-pub-tomcat.csr" --cert "$work/good/leaf.pem" \
  --ca "$work/good/root.pem" --ca "$work/good/intermediate.pem"
run match --cert "$work/good/leaf.pem" --csr "$work/cucm-pub-tomcat.csr"
run cert upload cucm-pub tomcat "$work/good/leaf.pem" --description "CA-signed tomcat"

step "Step 6. The new certificate is stored; the CSR is gone"
run cert list --node cucm-pub --purpose tomcat
run csr list --node cucm-pub

step "Until Cisco Tomcat restarts, the listener still serves the old certificate"
run service list cucm-pub
run service restart cucm-pub "Cisco Tomcat"
run service list cucm-pub

step "Multi-server SAN: one CSR for every node, installed on each by one upload"
run csr generate cucm-pub tomcat --distribution multi-server
run csr download cucm-pub tomcat -o "$work/tomcat-ms.csr"
run ca sign "$work/tomcat-ms.csr" -o "$work/ms"
run cert upload cucm-pub tomcat "$work/ms/chain.p7b"
run cert list --purpose tomcat --type own
for node in cucm-pub cucm-sub1 imp-pub; do run service restart "$node" "Cisco Tomcat"; done

step "CallManager alone (never together with TVS): regenerate, restart in order, reset"
for node in cucm-pub cucm-sub1; do run cert regenerate "$node" CallManager --yes; done
for node in cucm-pub cucm-sub1; do
  for svc in "Cisco Trust Verification Service" "Cisco TFTP" "Cisco CallManager" \
             "Cisco CTIManager"; do
    run service restart "$node" "$svc"
  done
done
run phones reset --wait

if [ -t 0 ] && [ -t 1 ]; then
  printf '\n%sThe cluster keeps running.%s In another terminal:\n' "$bold" "$off"
  printf '  export UCCERTS_HOME=%s\n  %s phones status\n' "$UCCERTS_HOME" "$UCCERTS"
  printf '  %s service list cucm-pub\n' "$UCCERTS"
  printf 'Web console: https://127.0.1.1:8443/ (user admin, the password printed above)\n'
  printf 'Ctrl-C stops it.\n'
  trap 'stop_serve; exit 0' INT TERM
  wait "$serve_pid" || true
  exit 0
fi
stop_serve
printf '\n%sDone.%s The demo home is %s; run the cluster again with:\n  UCCERTS_HOME=%s %s serve\n' \
  "$bold" "$off" "$UCCERTS_HOME" "$UCCERTS_HOME" "$UCCERTS"
