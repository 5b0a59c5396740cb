/* Keeps a few of CPython's frame-stack chunks for reuse (CPython 3.11 and 3.12; gh-142183).

   Since 3.11 the interpreter keeps frames on a per-thread stack made of 16 KiB chunks that it takes
   from the arena allocator (mmap) and gives back (munmap) as soon as the frame that began a chunk
   returns. A call path whose depth moves to and fro across a chunk's edge, as a Django request's
   does through its middleware, maps and unmaps a chunk on every call: in our test suite 229,000
   pairs in one 14-second test, a fifth of the process's CPU spent in the kernel. CPython's 3.13 and
   3.14 releases since March 2026 cache one chunk per thread; this does the same from outside:
   up to KEEP chunks freed are kept and handed out again, everything else goes to the allocator
   that was there before (so memory it gave out earlier is freed as it expects). The arena
   allocator is only called with the GIL held. Loaded by core/stackchunks.py. */
#include <Python.h>

#define CHUNK 16384
#define KEEP 8

static PyObjectArenaAllocator original;
static void *kept[KEEP];
static int nkept;

static void *chunk_alloc(void *ctx, size_t size) {
    if (size == CHUNK && nkept > 0) {
        return kept[--nkept];
    }
    return original.alloc(original.ctx, size);
}

static void chunk_free(void *ctx, void *ptr, size_t size) {
    if (size == CHUNK && nkept < KEEP) {
        kept[nkept++] = ptr;
        return;
    }
    original.free(original.ctx, ptr, size);
}

/* 1 when installed now, 0 when it already was. */
int stackchunks_install(void) {
    static PyObjectArenaAllocator ours = {NULL, chunk_alloc, chunk_free};
    PyObjectArenaAllocator now;
    PyObject_GetArenaAllocator(&now);
    if (now.alloc == chunk_alloc) {
        return 0;
    }
    original = now;
    PyObject_SetArenaAllocator(&ours);
    return 1;
}

/* 1 while ours is the arena allocator. */
int stackchunks_installed(void) {
    PyObjectArenaAllocator now;
    PyObject_GetArenaAllocator(&now);
    return now.alloc == chunk_alloc;
}
