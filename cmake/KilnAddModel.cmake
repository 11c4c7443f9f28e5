#===- cmake/KilnAddModel.cmake - kiln_add_model() for products -------------===#
#
# Installed beside KilnConfig.cmake, which includes it when the install has
# kilnc (Kiln::kilnc). A product compiles a model as part of its own build:
#
#   find_package(Kiln 0.1 REQUIRED)
#   kiln_add_model(gpt2 MODEL model.onnx MAX_SHAPES seq=1024)
#   add_executable(app main.c)
#   target_link_libraries(app PRIVATE gpt2)   # gpt2.h, libgpt2.so
#
# kiln_add_model(<target> MODEL <file.onnx>
#                [NAME <c identifier>]         default: <target>, made one
#                [SHAPES NAME=VALUE...]        kilnc --shape
#                [MAX_SHAPES NAME=VALUE...]    kilnc --max-shape
#                [TARGET cpu|cuda|cuda:sm_90|cuda:sm_100]
#                [PRECISION fp16|bf16|tf32|fp32]
#                [QUANTIZE <mode>]             kilnc --quantize
#                [CPU <llvm cpu>]              default native, as kilnc's
#                [OPTIONS <kilnc flag>...]
#                [DEPENDS <file>...]           e.g. the model's external data
#                [OUTPUT_DIRECTORY <dir>])     default <binary dir>/<target>
#
# kilnc runs at build time, again whenever the model, a DEPENDS file or kilnc
# itself changes. <target> is an imported shared library (lib<NAME>.so, no
# soname: programs find it through their RUNPATH, which CMake sets in the
# build tree) that carries the include directories of the generated <NAME>.h
# and of kiln/runtime.h. The library holds its own copy of the runtime, so a
# program that links it needs nothing else of Kiln.

function(kiln_add_model target)
  cmake_parse_arguments(
    PARSE_ARGV 1 arg ""
    "MODEL;NAME;TARGET;PRECISION;QUANTIZE;CPU;OUTPUT_DIRECTORY"
    "SHAPES;MAX_SHAPES;OPTIONS;DEPENDS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "kiln_add_model(${target}): unknown arguments "
                        "${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_MODEL)
    message(
      FATAL_ERROR "kiln_add_model(${target}): MODEL <file.onnx> is required")
  endif()
  get_filename_component(model "${arg_MODEL}" ABSOLUTE)
  if(NOT EXISTS "${model}")
    message(FATAL_ERROR "kiln_add_model(${target}): no model ${model}")
  endif()
  set(name "${arg_NAME}")
  if(NOT name)
    string(MAKE_C_IDENTIFIER "${target}" name)
  endif()
  set(dir "${arg_OUTPUT_DIRECTORY}")
  if(NOT dir)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  endif()
  set(library "${dir}/lib${name}.so")
  set(header "${dir}/${name}.h")

  set(flags -q --name=${name})
  foreach(shape IN LISTS arg_SHAPES)
    list(APPEND flags --shape ${shape})
  endforeach()
  foreach(shape IN LISTS arg_MAX_SHAPES)
    list(APPEND flags --max-shape ${shape})
  endforeach()
  foreach(option TARGET PRECISION QUANTIZE CPU)
    if(arg_${option})
      string(TOLOWER ${option} flag)
      list(APPEND flags --${flag}=${arg_${option}})
    endif()
  endforeach()
  list(APPEND flags ${arg_OPTIONS})

  file(MAKE_DIRECTORY "${dir}")
  add_custom_command(
    OUTPUT "${library}" "${header}"
    COMMAND Kiln::kilnc "${model}" -o "${library}" ${flags}
    DEPENDS "${model}" ${arg_DEPENDS} Kiln::kilnc
    COMMENT "kilnc: compiling ${arg_MODEL} into lib${name}.so"
    VERBATIM)
  add_custom_target(${target}_kilnc DEPENDS "${library}" "${header}")

  get_target_property(runtime_includes Kiln::runtime
                      INTERFACE_INCLUDE_DIRECTORIES)
  add_library(${target} SHARED IMPORTED)
  set_target_properties(
    ${target}
    PROPERTIES IMPORTED_LOCATION "${library}"
               IMPORTED_NO_SONAME TRUE
               INTERFACE_INCLUDE_DIRECTORIES "${dir};${runtime_includes}")
  add_dependencies(${target} ${target}_kilnc)
endfunction()
