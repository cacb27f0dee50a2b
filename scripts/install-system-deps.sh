#!/bin/sh
# Install the system packages the proxy tests need (run as root; idempotent).
#
# - squid: the real forward proxy the tests start on 127.0.0.1. Debian
#   bookworm's "squid" is the GnuTLS build; it supports https_port (TLS to the
#   proxy), which is all the tests need (no ssl-bump), so squid-openssl is not
#   required.
# - apache2-utils: htpasswd, to write the proxy's Basic auth password file.
# - npm: the client scripts/fetch_twilio_oai.py uses to fetch Twilio's OpenAPI
#   descriptions (npm package @twilio/cli-core) for the conformance tests.
#
# /usr/sbin/policy-rc.d answering 101 stops the package from starting a
# system-wide squid on install: the tests start their own instances.
set -eu

have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }

if have /usr/sbin/squid && have /usr/lib/squid/basic_ncsa_auth && have htpasswd \
    && have npm; then
    echo "install-system-deps: squid, htpasswd and npm already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps: run as root (apt-get)" >&2
    exit 1
fi

if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
fi

# Only what is missing: a machine whose Node.js came from elsewhere already has
# npm, and Debian's npm package would conflict with that Node.js.
packages="squid apache2-utils"
have npm || packages="$packages npm"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $packages >/dev/null

# Belt and braces: if a system squid got started anyway, stop it (its pid
# file names exactly that process; nothing else is touched).
if [ -s /run/squid.pid ]; then
    kill "$(cat /run/squid.pid)" 2>/dev/null || true
fi
echo "install-system-deps: installed squid $(/usr/sbin/squid -v | head -1)"
