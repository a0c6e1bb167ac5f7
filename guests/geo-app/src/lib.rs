//! `geo-app`: the app of the typed pod example. It imports
//! `example:geo/lookup` and never knows whether the sidecar runs in the same
//! process or elsewhere.

wit_bindgen::generate!({ path: "../geo/wit", world: "app" });

use example::geo::lookup::{Location, find};

struct App;

/// Mean Earth radius in kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0;

fn haversine(a: &Location, b: &Location) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

impl Guest for App {
    fn distance(from: String, to: String) -> Result<f64, String> {
        let a = find(&from)?;
        let b = find(&to)?;
        Ok((haversine(&a, &b) * 10.0).round() / 10.0)
    }

    fn peek(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))
    }
}

export!(App);
