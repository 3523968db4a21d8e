#!/usr/bin/env bash
# Make a Docker daemon answer if this machine can run one: install docker.io, docker-compose and debootstrap
# when missing (Debian, as root), start dockerd by hand when it is not running. Exit 1 with the reason otherwise.
set -uo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1 \
   || { ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; }; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "docker: not installed, and this is not a root Debian machine to install it on" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq >/dev/null 2>&1 || true
  if ! timeout 900 apt-get install -y -qq docker.io docker-compose debootstrap >/dev/null 2>&1; then
    echo "docker: apt-get install docker.io docker-compose debootstrap failed" >&2; exit 1
  fi
fi
if ! docker info >/dev/null 2>&1; then
  (dockerd >/tmp/epigex-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
  done
  echo "docker: dockerd did not start (see /tmp/epigex-dockerd.log)" >&2; exit 1
fi
