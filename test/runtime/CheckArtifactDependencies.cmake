#===- CheckArtifactDependencies.cmake - NEEDED entries of an artifact ------===#
# Usage: cmake -DLIBRARY=lib.so -P CheckArtifactDependencies.cmake
find_program(READELF NAMES llvm-readelf-22 llvm-readelf readelf REQUIRED)
execute_process(
  COMMAND ${READELF} -d ${LIBRARY}
  OUTPUT_VARIABLE dynamic
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${READELF} -d ${LIBRARY} failed")
endif()
string(REGEX MATCHALL "Shared library: \\[[^]]+\\]" needed "${dynamic}")
set(allowed "^lib(c|m|pthread|dl)\\.so\\.[0-9]+$|^ld-linux")
foreach(entry IN LISTS needed)
  string(REGEX REPLACE "Shared library: \\[([^]]+)\\]" "\\1" lib "${entry}")
  message(STATUS "NEEDED ${lib}")
  if(NOT lib MATCHES "${allowed}")
    message(FATAL_ERROR "${LIBRARY} needs ${lib}; artifacts may need only "
                        "libc, libm, libpthread and libdl")
  endif()
endforeach()
