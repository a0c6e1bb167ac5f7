//! `geo`: the sidecar of the typed pod example. It looks cities up in
//! `/data/cities.csv` (lines of `name,lat,lon`), a directory that only this
//! component is granted.

wit_bindgen::generate!({ path: "wit", world: "geo" });

use exports::example::geo::lookup::{Guest, Location};

struct Geo;

impl Guest for Geo {
    fn find(city: String) -> Result<Location, String> {
        if city == "crash" {
            panic!("asked to crash");
        }
        let table = std::fs::read_to_string("/data/cities.csv")
            .map_err(|e| format!("cannot read /data/cities.csv: {e}"))?;
        table
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(',');
                let name = fields.next()?.trim();
                let lat = fields.next()?.trim().parse().ok()?;
                let lon = fields.next()?.trim().parse().ok()?;
                name.eq_ignore_ascii_case(city.trim()).then_some(Location { lat, lon })
            })
            .next()
            .ok_or_else(|| format!("unknown city `{city}`"))
    }
}

export!(Geo);
