# Installs rb from RB_BUILD_DIR into PREFIX, extracts the C++ example of README (the first ```cpp
# block under "## Usage (C++)"), then configures, builds and runs the consumer project.
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGV " " command)
    message(FATAL_ERROR "failed (${rc}): ${command}")
  endif()
endfunction()
file(REMOVE_RECURSE ${PREFIX} ${BINARY})

file(READ ${README} readme)
string(FIND "${readme}" "## Usage (C++)" section)
if(section EQUAL -1)
  message(FATAL_ERROR "${README} has no \"## Usage (C++)\" section")
endif()
string(SUBSTRING "${readme}" ${section} -1 readme)
string(REGEX MATCH "```cpp\n(.*)" example "${readme}")
string(FIND "${CMAKE_MATCH_1}" "\n```" example_end)
string(SUBSTRING "${CMAKE_MATCH_1}" 0 ${example_end} example)
file(WRITE ${BINARY}/readme_example.cpp "${example}\n")

run(${CMAKE_COMMAND} --install ${RB_BUILD_DIR} --prefix ${PREFIX})
run(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${PREFIX} -DTorch_DIR=${TORCH_DIR} -DRB_RANDOM123_INCLUDE_DIR=${RANDOM123}
    -DTORCH_CUDA_ARCH_LIST=9.0 -DRB_README_EXAMPLE=${BINARY}/readme_example.cpp)
run(${CMAKE_COMMAND} --build ${BINARY})
run(${BINARY}/consumer)
