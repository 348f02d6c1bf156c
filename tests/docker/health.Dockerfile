# The health scenarios' image: the base image with a HEALTHCHECK that asks pidguard (its status socket,
# so /readyz: the program runs and its app check passes). Every second, so that the transitions come
# quickly; a start period, so that failures before the app first answers keep it "starting".
ARG BASE
FROM ${BASE}
HEALTHCHECK --interval=1s --timeout=10s --start-period=60s --retries=1 CMD ["/pidguard", "probe"]
