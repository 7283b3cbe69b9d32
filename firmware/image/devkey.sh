#!/bin/sh
# devkey.sh DIR: a development signing key for RAUC bundles, made by
# OpenSSL: DIR/dev-ca.pem (the keyring the image trusts), DIR/dev.key and
# DIR/dev.pem (the signing key and its certificate, issued by the CA).
# For development and tests only: they live in build/, never in the
# repository. Keeps existing files.
set -eu
D=$1
[ -s "$D/dev.key" ] && [ -s "$D/dev.pem" ] && [ -s "$D/dev-ca.pem" ] && exit 0
mkdir -p "$D"
umask 077
cat > "$D/openssl.cnf" <<'EOT'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[signer]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning, emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOT
openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -config "$D/openssl.cnf" \
    -extensions ca -subj "/O=sopd development/CN=sopd development CA" \
    -keyout "$D/dev-ca.key" -out "$D/dev-ca.pem" 2>/dev/null
openssl req -new -newkey rsa:3072 -nodes -config "$D/openssl.cnf" \
    -subj "/O=sopd development/CN=sopd development firmware signing" \
    -keyout "$D/dev.key" -out "$D/dev.csr" 2>/dev/null
openssl x509 -req -days 3650 -in "$D/dev.csr" -CA "$D/dev-ca.pem" \
    -CAkey "$D/dev-ca.key" -CAcreateserial -extfile "$D/openssl.cnf" \
    -extensions signer -out "$D/dev.pem" 2>/dev/null
rm -f "$D/dev.csr"
chmod 0644 "$D/dev.pem" "$D/dev-ca.pem"
