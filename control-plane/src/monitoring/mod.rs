//! Monitoring over stored metric history: continuous anomaly detection with user feedback,
//! forecasts with early warnings, and root-cause analysis of anomalies.
//!
//! Owns: the detection pass that judges stored series with the streaming detector and persists
//! anomaly events (`scan`), the job kinds that run it on any replica (`detection_jobs`), forecasting and bound breaches (`forecast`), and ranking candidate
//! causes of an anomaly (`causes`). Uses the store for every read and write and the
//! `detectors` module's algorithms and seasonality search. Must not: know about HTTP, or decide who may see
//! what (every call takes the caller's tenant).

pub mod causes;
pub mod detection_jobs;
pub mod forecast;
pub mod scan;
pub mod service;
