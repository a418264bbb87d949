"""The aarch64 proof: a Debian bookworm arm64 root, a bundle installed into it, a face verified
on an emulated Cortex-A53 (``qemu-aarch64-static``), all from this x86-64 machine."""
