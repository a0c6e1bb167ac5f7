//! Prints the path of a built guest component: `guest-path thumbnail`.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    match test_programs_artifacts::ALL
        .iter()
        .find(|(n, _)| *n == name)
    {
        Some((_, path)) => println!("{path}"),
        None => {
            let names: Vec<&str> = test_programs_artifacts::ALL.iter().map(|g| g.0).collect();
            eprintln!("usage: guest-path NAME (one of: {})", names.join(", "));
            std::process::exit(2);
        }
    }
}
