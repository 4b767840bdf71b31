//! Compiles the .proto files with the protoc binary vendored in `protoc-bin-vendored`, so a build needs
//! no system protoc. Messages and the gRPC service (client and server) land in one module per package.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure().compile_with_config(
        config,
        &[
            "proto/cwic/agent/v1/agent.proto",
            "proto/cwic/agent/v1/agent_service.proto",
        ],
        &["proto"],
    )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
