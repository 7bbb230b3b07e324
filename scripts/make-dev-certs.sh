#!/usr/bin/env bash
# Makes a development PKI for mutual TLS: a CA and, for each identity, a key and a certificate
# whose SAN is the SPIFFE ID spiffe://DOMAIN/NAME plus the DNS names given. For demos, tests
# and the compose file; production certificates come from your own CA.
#
#   scripts/make-dev-certs.sh OUTDIR [--domain observer.test] [--days 30] [--ca-key FILE] \
#       NAME[:dns1,dns2] ...
#
# Writes OUTDIR/ca.pem, the CA's key (OUTDIR/ca.key, or FILE: keep it out of directories you
# mount into services) and OUTDIR/NAME.pem, OUTDIR/NAME.key for each NAME. An existing CA is
# reused, so more identities can be added later.
# With --days 0 the certificates are already expired (valid from two days ago to yesterday).
set -euo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
out="$1"; shift
domain="observer.test"
days=30
ca_key=""
names=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --domain) domain="$2"; shift 2 ;;
    --days) days="$2"; shift 2 ;;
    --ca-key) ca_key="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) names+=("$1"); shift ;;
  esac
done
command -v openssl >/dev/null || { echo "make-dev-certs: openssl is missing (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077
ca_key="${ca_key:-$out/ca.key}"
mkdir -p "$(dirname "$ca_key")"

if [[ ! -f "$out/ca.pem" || ! -f "$ca_key" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/O=Observer Registry dev/CN=Observer Registry dev CA ($domain)" \
    -keyout "$ca_key" -out "$out/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

for spec in "${names[@]}"; do
  name="${spec%%:*}"
  san="URI:spiffe://$domain/$name"
  if [[ "$spec" == *:* ]]; then
    IFS=',' read -r -a dns <<< "${spec#*:}"
    for d in "${dns[@]}"; do san+=",DNS:$d"; done
  fi
  ext="$(mktemp)"
  cat > "$ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san
EXT
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/O=Observer Registry dev/CN=$name" -keyout "$out/$name.key" -out "$out/$name.csr" \
    2>/dev/null
  if [[ "$days" == 0 ]]; then
    # `openssl ca` can backdate: valid from two days ago until yesterday.
    ca_dir="$(mktemp -d)"
    touch "$ca_dir/index.txt"
    cat > "$ca_dir/ca.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $ca_dir/index.txt
new_certs_dir = $ca_dir
serial = $ca_dir/serial
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
CNF
    openssl rand -hex 16 > "$ca_dir/serial"
    openssl ca -batch -config "$ca_dir/ca.cnf" -cert "$out/ca.pem" -keyfile "$ca_key" \
      -in "$out/$name.csr" -out "$out/$name.pem" -extfile "$ext" -notext \
      -startdate "$(date -u -d '2 days ago' +%Y%m%d%H%M%SZ)" \
      -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)" 2>/dev/null
    rm -rf "$ca_dir"
  else
    openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$ca_key" \
      -CAcreateserial -days "$days" -extfile "$ext" -out "$out/$name.pem" 2>/dev/null
  fi
  rm -f "$out/$name.csr" "$ext"
  echo "$out/$name.pem: $san"
done
