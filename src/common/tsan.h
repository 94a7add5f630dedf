// COVE_TSAN is defined when the code is built with ThreadSanitizer (GCC or clang).
#pragma once

#if defined(__SANITIZE_THREAD__)
#define COVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COVE_TSAN 1
#endif
#endif
