# Helpers applied to the project's OWN targets only (tests, benchmarks,
# examples, header checks). The INTERFACE targets keypool::keypool and
# keypool::http never carry warning or sanitizer flags: a consumer's flags are
# the consumer's business.

include_guard(GLOBAL)

# Pedantic warnings; -Werror unless KEYPOOL_WERROR is OFF.
function(keypool_target_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive-)
    if(KEYPOOL_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(KEYPOOL_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# KEYPOOL_SANITIZE is a list: "" | "address;undefined" | "thread".
function(keypool_target_sanitizers target)
  if(NOT KEYPOOL_SANITIZE)
    return()
  endif()
  list(JOIN KEYPOOL_SANITIZE "," _sanitizers)
  set(_flags -fsanitize=${_sanitizers} -fno-omit-frame-pointer)
  if("undefined" IN_LIST KEYPOOL_SANITIZE)
    # Make UBSan findings fail the test instead of just printing.
    list(APPEND _flags -fno-sanitize-recover=all)
  endif()
  target_compile_options(${target} PRIVATE ${_flags})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND "address" IN_LIST KEYPOOL_SANITIZE)
    # GCC's ASan instrumentation makes -Wmaybe-uninitialized fire falsely
    # inside Boost.Beast/Asio headers.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  get_target_property(_type ${target} TYPE)
  if(NOT _type STREQUAL "OBJECT_LIBRARY")
    target_link_options(${target} PRIVATE ${_flags})
  endif()
endfunction()

# All of the target's sources as one translation unit. GCC's
# -Wsubobject-linkage, meant for headers, then fires on every .cpp (each is
# included by the unity source): a lambda of a file's anonymous namespace
# held in a coroutine frame of a library template.
function(keypool_unity_build target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 0)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()

# Everything the project's own targets get.
function(keypool_own_target target)
  keypool_target_warnings(${target})
  keypool_target_sanitizers(${target})
endfunction()
