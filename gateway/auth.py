"""JWT bearer tokens → Principal. The token is the identity provider's word: its tenant and roles win."""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import jwt

from gateway.errors import ConfigurationError, Unauthenticated
from gateway.settings import Settings

HS256: Final = "HS256"
RS256: Final = "RS256"
# Clock skew tolerated between the identity provider and us.
LEEWAY_SECONDS: Final = 30


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    VIEWER = "viewer"
    # Machine tokens of the platform: may ingest events, may not read people's dashboards.
    SERVICE = "service"


# Roles that may read people's data (agents, users, their metrics): every human role, not the platform's tokens.
READERS: Final = (Role.ADMIN, Role.MANAGER, Role.AGENT, Role.VIEWER)


@dataclass(frozen=True)
class Principal:
    """Who is asking: verified user id, tenant and roles."""

    user_id: str
    tenant_id: UUID
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def user_uuid(self) -> UUID | None:
        """The user id as a UUID when it is one (users of the directory); machine subjects may not be."""
        try:
            return UUID(self.user_id)
        except ValueError:
            return None


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies tokens against the configured keys; built once from Settings."""

    secret: str | None
    public_key: str | None
    issuer: str | None
    audience: str | None

    @classmethod
    def from_settings(cls, settings: Settings, *, dev_secret: str | None = None) -> TokenVerifier:
        secret = settings.jwt_secret or dev_secret
        if secret is None and settings.jwt_public_key is None:
            raise ConfigurationError("set CALLPULSE_JWT_SECRET (HS256) or CALLPULSE_JWT_PUBLIC_KEY (RS256)")
        return cls(secret, settings.jwt_public_key, settings.jwt_issuer, settings.jwt_audience)

    def _key_for(self, algorithm: str) -> str:
        # The key is chosen by the algorithm we configured, never trusted from the header alone: an RS256
        # public key must not be usable as an HS256 secret, and 'none' is never accepted.
        if algorithm == HS256 and self.secret is not None:
            return self.secret
        if algorithm == RS256 and self.public_key is not None:
            return self.public_key
        raise Unauthenticated(f"tokens signed with {algorithm!r} are not accepted", reason="unsupported_algorithm")

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; async so a key source that must fetch never blocks the loop."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("the bearer token is not a well-formed JWT", reason="malformed_token") from None
        algorithm = str(header.get("alg", ""))
        key = self._key_for(algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired", reason="expired_token") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature does not verify", reason="invalid_signature") from None
        except jwt.MissingRequiredClaimError as e:
            raise Unauthenticated(f"the token lacks the {e.claim!r} claim", reason="invalid_claims") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError) as e:
            raise Unauthenticated(f"the token is not meant for this service: {e}", reason="invalid_claims") from None
        except jwt.DecodeError:
            raise Unauthenticated("the bearer token is not a well-formed JWT", reason="malformed_token") from None
        except jwt.InvalidTokenError as e:
            raise Unauthenticated(f"the token is invalid: {e}", reason="invalid_claims") from None
        return principal_from_claims(claims)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    raw_tenant = claims.get("tenant_id")
    if not raw_tenant:
        raise Unauthenticated("the token names no tenant (claim 'tenant_id')", reason="missing_tenant")
    try:
        tenant_id = UUID(str(raw_tenant))
    except ValueError:
        raise Unauthenticated("the token's 'tenant_id' is not a UUID", reason="invalid_claims") from None
    raw_roles = claims.get("roles", [])
    if isinstance(raw_roles, str):
        raw_roles = [raw_roles]
    if not isinstance(raw_roles, list):
        raise Unauthenticated("the token's 'roles' must be a list of strings", reason="invalid_claims")
    known = {r.value for r in Role}
    roles = frozenset(Role(r) for r in raw_roles if isinstance(r, str) and r in known)
    if not roles:
        raise Unauthenticated(
            f"the token carries no known role (one of {', '.join(sorted(known))})", reason="invalid_claims"
        )
    return Principal(user_id=str(claims["sub"]), tenant_id=tenant_id, roles=roles)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` value."""
    if not authorization:
        raise Unauthenticated("send 'Authorization: Bearer <token>'", reason="missing_token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'", reason="malformed_token")
    return token.strip()


def mint_token(
    secret: str,
    *,
    tenant_id: UUID,
    user_id: str,
    roles: list[str],
    ttl_seconds: int = 24 * 3600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 development token, as `callpulse token` prints it."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "tenant_id": str(tenant_id), "roles": roles,
                              "iat": now, "exp": now + ttl_seconds}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm=HS256)


def dev_secret(data_dir: Path) -> str:
    """The development signing secret kept under the data folder, created on first use.

    Only used with the embedded database and no configured key, so `callpulse demo` and `callpulse token`
    agree without any set-up; a deployment configures CALLPULSE_JWT_SECRET or CALLPULSE_JWT_PUBLIC_KEY.
    """
    path = data_dir / "dev-jwt-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def signing_secret(settings: Settings) -> str:
    """The HS256 secret tokens are minted and verified with in this configuration."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret
    if settings.embedded and settings.jwt_public_key is None:
        return dev_secret(settings.data_dir)
    raise ConfigurationError("set CALLPULSE_JWT_SECRET to mint tokens (RS256 tokens come from your identity provider)")


def verifier_for(settings: Settings) -> TokenVerifier:
    """The verifier of this configuration: configured keys, or the dev secret with the embedded database."""
    dev = dev_secret(settings.data_dir) if settings.embedded and settings.jwt_secret is None \
        and settings.jwt_public_key is None else None
    return TokenVerifier.from_settings(settings, dev_secret=dev)
