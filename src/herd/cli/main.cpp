// herd: the command line (command_line.cpp).
#include "herd/cli/command_line.hpp"

int main(int argc, char** argv) {
  return herd::cli::main(argc, argv);
}
