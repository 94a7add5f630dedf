# The raw-syscall trap (raw_syscall.*, syscall_trap.*, sigsys_handler.*, and the patching of
# system-call instructions: instruction_length.*, syscall_sites.*, syscall_patch.*), included from this
# folder's CMakeLists.txt. A static library that libcove-runtime.so links, its GoogleTest binary,
# and `raw_openat`, the raw-syscall test program for the end-to-end tests under `cove run`.
add_library(cove_syscall_trap STATIC
  ${CMAKE_CURRENT_LIST_DIR}/instruction_length.cc
  ${CMAKE_CURRENT_LIST_DIR}/raw_syscall.cc
  ${CMAKE_CURRENT_LIST_DIR}/sigsys_handler.cc
  ${CMAKE_CURRENT_LIST_DIR}/syscall_patch.cc
  ${CMAKE_CURRENT_LIST_DIR}/syscall_sites.cc
  ${CMAKE_CURRENT_LIST_DIR}/syscall_trap.cc)
target_include_directories(cove_syscall_trap PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(cove_syscall_trap PUBLIC cove_common)

cove_test(cove_syscall_trap_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/syscall_trap_test.cc
          LIBS cove_syscall_trap Threads::Threads)
# The same tests with Syscall User Dispatch instead of patched sites.
add_test(NAME cove_syscall_trap_test_kernel COMMAND cove_syscall_trap_test)
set_tests_properties(cove_syscall_trap_test_kernel PROPERTIES ENVIRONMENT COVE_TEST_TRAP=kernel)
cove_test(cove_syscall_sites_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/syscall_sites_test.cc
          LIBS cove_syscall_trap ${CMAKE_DL_LIBS})

add_executable(raw_openat ${PROJECT_SOURCE_DIR}/tests/runtime/raw_openat.c)
target_link_libraries(raw_openat PRIVATE ${CMAKE_DL_LIBS})
# The library raw_openat's "dlopen" mode loads (next to raw_openat in the build tree).
add_library(raw_syscall_lib MODULE ${PROJECT_SOURCE_DIR}/tests/runtime/raw_syscall_lib.c)
set_target_properties(raw_syscall_lib PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
add_dependencies(raw_openat raw_syscall_lib)
# The site finder and length decoder on arbitrary bytes (built with COVE_FUZZ=ON).
cove_fuzzer(syscall_sites_fuzzer ${CMAKE_CURRENT_LIST_DIR}/syscall_sites_fuzzer.cc cove_syscall_trap)
