# walletkey in a container: the project's own bootstrap installs Debian's
# packages and builds; the default command runs the whole test suite, each
# test against its own sandboxed pcscd + vpcd + walletkey-card.
#
#   docker build -t walletkey .
#   docker run --rm --cap-add SYS_ADMIN --security-opt apparmor=unconfined walletkey
#
# SYS_ADMIN is needed because the sandbox gives each pcscd its own mount
# namespace (unshare -m) so that several can run at once (README, "CI").
FROM debian:12

ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY . /src

RUN tools/bootstrap build

CMD ["tools/bootstrap", "test"]
