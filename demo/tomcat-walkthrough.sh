#!/usr/bin/env bash
# The seed's tomcat procedure, step by step, against a fresh demo cluster and the
# lab CA, including the classic mistakes and their fixes. Every command shown is
# what an administrator would type.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
UCCERTS=${UCCERTS:-uccerts}
export UCCERTS_HOME=${UCCERTS_HOME:-$(cd "$here/.." && pwd)/demo-home}
work="$UCCERTS_HOME/files"
rm -rf "$UCCERTS_HOME"
mkdir -p "$work"

bold=$(printf '\033[1m'); dim=$(printf '\033[2m'); off=$(printf '\033[0m')
[ -t 1 ] || { bold=""; dim=""; off=""; }
step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off"; }
run() { printf '%s$ uccerts %s%s\n' "$dim" "$*" "$off"; "$UCCERTS" "$@"; }
# A step that must be refused: show the refusal and carry on only if it was refused.
refused() {
  printf '%s$ uccerts %s%s\n' "$dim" "$*" "$off"
  if "$UCCERTS" "$@"; then echo "expected a refusal, got success" >&2; exit 1; fi
  printf '%s(refused as expected: nothing was changed)%s\n' "$dim" "$off"
}

step "Create the cluster: every node gets self-signed certificates"
run cluster init --topology "$here/lab.toml"

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

step "Multi-server SAN: one CSR for every node, installed on each by one upload"
run csr generate cucm-pub tomcat --distribution multi-server
run csr download cucm-pub tomcat -o "$work/tomcat-ms.csr"
run ca sign "$work/tomcat-ms.csr" -o "$work/ms"
run cert upload cucm-pub tomcat "$work/ms/chain.p7b"
run cert list --purpose tomcat --type own

printf '\n%sDone.%s The demo home is %s; look around with:\n  UCCERTS_HOME=%s %s cert list\n' \
  "$bold" "$off" "$UCCERTS_HOME" "$UCCERTS_HOME" "$UCCERTS"
