# The kit as an adapter author gets it (sdk/README.md, "Build outside this tree"):
#  1. `cmake --install` this build into a fresh prefix (builds nothing: crmhost must be built);
#  2. configure and build sdk/examples/minimal out of tree against that prefix, with exactly the
#     documented command;
#  3. `crmhost plugin check` (the installed one) on the result: exit 0, the example's name shown.
# Run as: cmake -DBUILD_DIR=... -DEXAMPLE_DIR=... -DWORK_DIR=... -DCRMHOST=... -P kit_test.cmake
# No network: the example needs nothing but the installed SDK and a C compiler.
cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR EXAMPLE_DIR WORK_DIR CRMHOST)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "kit_test.cmake needs -D${var}=...")
  endif()
endforeach()
if(NOT EXISTS "${CRMHOST}")
  message(FATAL_ERROR "${CRMHOST} is not built; build the tree first (cmake --build ${BUILD_DIR})")
endif()

set(prefix "${WORK_DIR}/prefix")
set(example_build "${WORK_DIR}/examplecrm")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# Runs a step; on failure prints its output and stops the test. The output is kept in `out_var`.
function(kit_step name out_var)
  message(STATUS "kit: ${name}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 50)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "kit: ${name} failed (${rc}):\n${out}\n${err}")
  endif()
  set(${out_var} "${out}${err}" PARENT_SCOPE)
endfunction()

kit_step(install out "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

foreach(file include/crmhost/adapter.h include/crmhost/adapter.hpp bin/crmhost
             share/crmhost-sdk/cmake/crmhost-sdkConfig.cmake
             share/crmhost-sdk/cmake/crmhost-sdkConfigVersion.cmake
             share/crmhost-sdk/cmake/crmhost-sdkTargets.cmake
             share/crmhost-sdk/cmake/CrmhostAddAdapter.cmake)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "kit: the install lacks ${file}")
  endif()
endforeach()

# The documented commands, verbatim but for the paths. The environment's generator applies, as
# it would for an author.
kit_step(configure out "${CMAKE_COMMAND}" -S "${EXAMPLE_DIR}" -B "${example_build}"
         "-DCMAKE_PREFIX_PATH=${prefix}")
# The package must come from the fresh prefix, not from anything installed on the machine.
string(FIND "${out}" "from ${prefix}/share/crmhost-sdk/cmake" at)
if(at EQUAL -1)
  message(FATAL_ERROR "kit: crmhost-sdk was not found in ${prefix}:\n${out}")
endif()
kit_step(build out "${CMAKE_COMMAND}" --build "${example_build}")

set(adapter "${example_build}/examplecrm.so")
if(NOT EXISTS "${adapter}")
  message(FATAL_ERROR "kit: the build did not produce ${adapter}:\n${out}")
endif()

kit_step("plugin check" out "${prefix}/bin/crmhost" plugin check "${adapter}")
message(STATUS "${out}")
if(NOT out MATCHES "name: +examplecrm\n")
  message(FATAL_ERROR "kit: plugin check does not name examplecrm:\n${out}")
endif()
message(STATUS "kit: ok: ${adapter}")
