# The distroless pattern: the ENTRYPOINT names the user, pidguard resolves it from the image's own
# /etc/passwd and /etc/group (rootfs/etc in the base image), and `docker run IMAGE PROGRAM...` only
# gives the program. BASE is the suite's base image, built just before; it is never pulled.
ARG BASE
FROM ${BASE}
ENTRYPOINT ["/pidguard", "--user", "nonroot", "--"]
CMD ["/bin/id"]
