fn main() {
    std::process::exit(o365fwd::cli::main());
}
