#pragma once
// Kernels on float spans: the arithmetic every algorithm is made of. Parameters, gradients
// and messages are contiguous float buffers; accumulations that feed reported numbers
// (dot products, norms) are carried in double.
#include <cstddef>
#include <span>

namespace herd {

using Span = std::span<float>;
using CSpan = std::span<const float>;

void fill(Span x, float value);
void copy(CSpan x, Span y);                     // y <- x
void scale(Span x, float a);                    // x <- a x
void axpy(float a, CSpan x, Span y);            // y <- y + a x
void axpby(float a, CSpan x, float b, Span y);  // y <- a x + b y
void sub(CSpan x, CSpan y, Span out);           // out <- x - y
double dot(CSpan x, CSpan y);
double norm2(CSpan x);           // ||x||^2
double dist2(CSpan x, CSpan y);  // ||x - y||^2
// x <- x - lambda (x - target): one elastic/leader pull.
void pull_toward(Span x, CSpan target, float lambda);
// g <- g + lambda (x - target): the gradient of (lambda / 2) ||x - target||^2 added to g (a
// pull as part of a local step: Leader SGD's, FedProx's proximal term).
void add_pull(Span g, CSpan x, CSpan target, float lambda);
// out <- (1/K) sum_k xs[k], summed in the order k = 0..K-1 (fixed, hence reproducible).
void mean_of(std::span<const CSpan> xs, Span out);
bool all_finite(CSpan x);

}  // namespace herd
