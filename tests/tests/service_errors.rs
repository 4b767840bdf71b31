//! What the database refuses because of the value sent is the caller's to fix: real PostgreSQL
//! refusals become 4xx service errors with the matching gRPC code, and anything else stays an
//! opaque 500 / `internal`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use cwic_control_plane::error::{ErrorCode, ServiceError};
use cwic_control_plane::store::StoreError;
use cwic_e2e::TestDb;

async fn refusal(db: &TestDb, sql: &str) -> ServiceError {
    let error = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&db.pool)
        .await
        .expect_err(sql);
    ServiceError::from(StoreError::Database(error))
}

#[tokio::test]
async fn database_refusals_of_the_callers_values_are_4xx_on_rest_and_grpc() {
    let db = TestDb::create("service_errors").await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE child (id int PRIMARY KEY, parent int NOT NULL REFERENCES parent (id),
                             score int CHECK (score BETWEEN 0 AND 100));
         INSERT INTO parent VALUES (1);
         INSERT INTO child VALUES (1, 1, 50);",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    let cases = [
        (
            "INSERT INTO child VALUES (1, 1, 10)",
            ErrorCode::Conflict,
            409,
            tonic::Code::AlreadyExists,
            "23505",
        ),
        (
            "INSERT INTO child VALUES (2, 7, 10)",
            ErrorCode::NotFound,
            404,
            tonic::Code::NotFound,
            "23503",
        ),
        (
            "INSERT INTO child VALUES (3, 1, 101)",
            ErrorCode::BadRequest,
            400,
            tonic::Code::InvalidArgument,
            "23514",
        ),
        (
            "INSERT INTO child VALUES (4, NULL, 1)",
            ErrorCode::BadRequest,
            400,
            tonic::Code::InvalidArgument,
            "23502",
        ),
        (
            "SELECT 'x'::int",
            ErrorCode::BadRequest,
            400,
            tonic::Code::InvalidArgument,
            "22P02",
        ),
    ];
    for (sql, code, http, grpc, sqlstate) in cases {
        let error = refusal(&db, sql).await;
        assert_eq!(error.code, code, "{sql}: {error}");
        assert_eq!(error.code.status().as_u16(), http, "{sql}");
        assert_eq!(error.details["sqlstate"], sqlstate, "{sql}");
        assert_eq!(tonic::Status::from(error).code(), grpc, "{sql}");
    }

    // Not the caller's fault (a table that does not exist is the code's bug): opaque and 500.
    let error = refusal(&db, "SELECT * FROM no_such_table").await;
    assert_eq!(error.code, ErrorCode::Internal);
    assert_eq!(error.message, "internal error");
    assert_eq!(error.code.status().as_u16(), 500);
    assert_eq!(tonic::Status::from(error).code(), tonic::Code::Internal);
}
