// Small ONNX models built in code for the tools tests: a conv net (Conv, Relu, depthwise Conv,
// GlobalAveragePool, Flatten, Gemm) and an MLP (MatMul, Add, Relu, MatMul) with random weights.
#pragma once

#include <onnx/onnx_pb.h>

namespace sparsify::tools::testing {

/// x float[1,8,10,10] -> conv1 (16x8x3x3, pad 1) -> Relu -> dw (group 16) -> Relu -> GAP -> Flatten
/// -> fc (Gemm transB, 10x16) -> y float[1,10]. Opset 13, weights N(0, 0.3) from `seed`.
onnx::ModelProto conv_model(unsigned seed = 7);

/// x float[2,4,32] -> mm1 (32x64) -> Add b1 -> Relu -> mm2 (64x16) -> y float[2,4,16]. Opset 13.
onnx::ModelProto mlp_model(unsigned seed = 11);

}  // namespace sparsify::tools::testing
