# Installs rb from RB_BUILD_DIR into PREFIX, then configures, builds and runs the consumer project.
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGV " " command)
    message(FATAL_ERROR "failed (${rc}): ${command}")
  endif()
endfunction()
file(REMOVE_RECURSE ${PREFIX} ${BINARY})
run(${CMAKE_COMMAND} --install ${RB_BUILD_DIR} --prefix ${PREFIX})
run(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${PREFIX} -DTorch_DIR=${TORCH_DIR} -DRB_RANDOM123_INCLUDE_DIR=${RANDOM123}
    -DTORCH_CUDA_ARCH_LIST=9.0)
run(${CMAKE_COMMAND} --build ${BINARY})
run(${BINARY}/consumer)
