# The raw-syscall trap (raw_syscall.*, syscall_trap.*, sigsys_handler.*), included from this
# folder's CMakeLists.txt. A static library that libcove-runtime.so links, its GoogleTest binary,
# and `raw_openat`, the raw-syscall test program for the end-to-end tests under `cove run`.
add_library(cove_syscall_trap STATIC
  ${CMAKE_CURRENT_LIST_DIR}/raw_syscall.cc
  ${CMAKE_CURRENT_LIST_DIR}/sigsys_handler.cc
  ${CMAKE_CURRENT_LIST_DIR}/syscall_trap.cc)
target_include_directories(cove_syscall_trap PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(cove_syscall_trap PUBLIC cove_common)

cove_test(cove_syscall_trap_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/syscall_trap_test.cc
          LIBS cove_syscall_trap Threads::Threads)

add_executable(raw_openat ${PROJECT_SOURCE_DIR}/tests/runtime/raw_openat.c)
