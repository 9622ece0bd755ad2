#include "herd/core/kernels.hpp"

#include <cassert>
#include <cmath>

namespace herd {

void fill(Span x, float value) {
  for (float& v : x) v = value;
}

void copy(CSpan x, Span y) {
  assert(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i];
}

void scale(Span x, float a) {
  for (float& v : x) v *= a;
}

void axpy(float a, CSpan x, Span y) {
  assert(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] += a * x[i];
}

void axpby(float a, CSpan x, float b, Span y) {
  assert(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = a * x[i] + b * y[i];
}

void sub(CSpan x, CSpan y, Span out) {
  assert(x.size() == y.size() && x.size() == out.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = x[i] - y[i];
}

double dot(CSpan x, CSpan y) {
  assert(x.size() == y.size());
  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) s += double(x[i]) * double(y[i]);
  return s;
}

double norm2(CSpan x) {
  return dot(x, x);
}

double dist2(CSpan x, CSpan y) {
  assert(x.size() == y.size());
  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = double(x[i]) - double(y[i]);
    s += d * d;
  }
  return s;
}

void pull_toward(Span x, CSpan target, float lambda) {
  assert(x.size() == target.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] -= lambda * (x[i] - target[i]);
}

void add_pull(Span g, CSpan x, CSpan target, float lambda) {
  assert(g.size() == x.size() && x.size() == target.size());
  for (std::size_t i = 0; i < g.size(); ++i) g[i] += lambda * (x[i] - target[i]);
}

void mean_of(std::span<const CSpan> xs, Span out) {
  assert(!xs.empty());
  copy(xs[0], out);
  for (std::size_t k = 1; k < xs.size(); ++k) axpy(1.0f, xs[k], out);
  scale(out, 1.0f / float(xs.size()));
}

bool all_finite(CSpan x) {
  for (float v : x)
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace herd
