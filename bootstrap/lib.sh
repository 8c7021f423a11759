# Shared by the scripts in bootstrap/ and .ci/run.

MOTO_VERSION=5.2.1

# Installs moto[server] at the pinned version unless that version is already importable.
ensure_moto() {
  local have
  have=$(python3 -c 'import moto, flask, flask_cors; print(moto.__version__)' 2>/dev/null || true)
  if [ "$have" != "$MOTO_VERSION" ]; then
    echo "installing moto[server]==$MOTO_VERSION" >&2
    python3 -m pip install --quiet "moto[server]==$MOTO_VERSION"
  fi
}

# Installs Debian's Chromium and its WebDriver (the console's browser tests) unless present.
ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    return
  fi
  echo "installing chromium and chromium-driver (Debian) for the console's browser tests" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}
