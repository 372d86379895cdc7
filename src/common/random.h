#pragma once
// Problem: the packet path draws a few random bytes many times a call (ids, digest nonces, the
// nonces of sealed fields), and each randombytes_buf call with libsodium's own generator (installed
// in cli/main.cpp) asks the kernel for the process id, to notice a fork. On a virtual machine that
// system call was about 2% of the SIP thread's CPU. random_bytes hands out bytes from a per-thread
// pool that randombytes_buf refills kRandomPoolSize bytes at a time: one system call per dozens of
// draws. A byte handed out is wiped from the pool, and a forked child starts with an empty one.
//
// Thread-safety: any thread; each has its own pool.

#include <cstddef>

namespace privox {

constexpr size_t kRandomPoolSize = 512;

// Fills `out` with `size` bytes from libsodium's generator. Draws larger than a quarter of the pool
// go to randombytes_buf directly.
void random_bytes(void* out, size_t size);

}  // namespace privox
