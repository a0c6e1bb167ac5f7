//! `primes`: heavy initialization (a prime sieve) that `nanopod snapshot`
//! moves to build time. Without a snapshot the first call builds the table.

wit_bindgen::generate!({ path: "../wit", world: "primes" });

use std::sync::OnceLock;

/// The millionth prime: the sieve's upper bound.
const LIMIT: usize = 15_485_863;

static TABLE: OnceLock<Vec<u32>> = OnceLock::new();

fn table() -> &'static [u32] {
    TABLE.get_or_init(|| {
        // One bit per number: set when composite.
        let mut composite = vec![0u64; LIMIT / 64 + 1];
        let mut primes = Vec::with_capacity(1_000_000);
        for n in 2..=LIMIT {
            if composite[n / 64] & (1 << (n % 64)) != 0 {
                continue;
            }
            primes.push(n as u32);
            if n <= LIMIT / n {
                let mut m = n * n;
                while m <= LIMIT {
                    composite[m / 64] |= 1 << (m % 64);
                    m += n;
                }
            }
        }
        // Zero the sieve before freeing it, so a snapshot does not carry it
        // (`black_box` keeps the compiler from dropping the dead stores).
        composite.fill(0);
        std::hint::black_box(&mut composite);
        primes
    })
}

struct Primes;

impl Guest for Primes {
    fn wizer_initialize() {
        table();
    }

    fn nth_prime(n: u32) -> Result<u32, String> {
        let t = table();
        match (n as usize).checked_sub(1).and_then(|i| t.get(i)) {
            Some(p) => Ok(*p),
            None => Err(format!("n must be from 1 to {}", t.len())),
        }
    }
}

export!(Primes);
