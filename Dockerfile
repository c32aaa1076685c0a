# The CI image: Debian 12 with everything tools/bootstrap installs, both build
# trees built as CI builds them (build/ with -Dwerror=true, build-fuzz/ with
# clang, libFuzzer, ASan and UBSan). Its default command is exactly what CI
# runs, .ci/run: the whole suite, then the package test; the last line is
# "N passed, N failed", the same count as CI's.
#
#   docker build -t walletkey .
#   docker run --rm --init --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt apparmor=unconfined walletkey
#
# SYS_ADMIN: the sandbox gives each test's pcscd its own mount namespace
# (unshare -m). NET_ADMIN: pay_remote_card's two machines (network
# namespaces and a veth pair); without it that test is skipped. --init: a PID 1 that reaps (the tests do not need it, but
# without it every process a test kills stays a zombie until the end).
# BASE: any Debian 12 image; tests/container/run.sh passes one it made with
# debootstrap, so that no registry is needed. README.md, "In a container".
ARG BASE=debian:12
FROM ${BASE}

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
WORKDIR /src
COPY . /src

RUN CI=true tools/bootstrap build && apt-get clean

CMD [".ci/run"]
