#pragma once
// Clang's thread-safety analysis (-Wthread-safety): members say which mutex guards them and
// functions say which mutex they need, so that touching guarded state without its lock is a
// compile error in the clang build rather than a race found in production. The macros expand to
// nothing on other compilers (GCC has no such analysis), so the annotations cost nothing there.
// libstdc++'s std::mutex carries no annotations: guard state with privox::Mutex (common/mutex.h).
//
// The names follow clang's documentation and abseil, so they read the same as in leveldb:
//   int x GUARDED_BY(mu_);              x is read and written only while mu_ is held
//   void f() REQUIRES(mu_);             callers hold mu_
//   void g() EXCLUDES(mu_);             callers do not hold mu_ (g takes it)
//   void h() NO_THREAD_SAFETY_ANALYSIS  the analysis cannot follow h (say why beside it)

#if defined(__clang__)
#define PRIVOX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PRIVOX_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) PRIVOX_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY PRIVOX_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) PRIVOX_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) PRIVOX_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) PRIVOX_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) PRIVOX_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) PRIVOX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) PRIVOX_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) PRIVOX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) PRIVOX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) PRIVOX_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) PRIVOX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) PRIVOX_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) PRIVOX_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS PRIVOX_THREAD_ANNOTATION(no_thread_safety_analysis)
