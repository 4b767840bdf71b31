//! Compiles the .proto files with the protoc binary vendored in `protoc-bin-vendored`, so a build needs
//! no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    config.compile_protos(&["proto/cwic/agent/v1/agent.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
