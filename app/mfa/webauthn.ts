import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Request } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { saveWebauthn, touchWebauthn, webauthnCredentials } from './authenticators.js';

/** Security keys and passkeys with @simplewebauthn/server; the relying party is PUBLIC_URL's host. */
export function webauthn(config: Config, db: Knex) {
  const origin = new URL(config.publicUrl).origin;
  const rpID = new URL(config.publicUrl).hostname;

  return {
    async registrationOptions(req: Request, user: { id: number; uuid: string; username: string; name: string }) {
      const existing = await webauthnCredentials(db, user.id);
      const options = await generateRegistrationOptions({
        rpName: 'Roster',
        rpID,
        userName: user.username,
        userDisplayName: user.name || user.username,
        userID: new TextEncoder().encode(user.uuid),
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
      req.session.webauthnChallenge = options.challenge;
      return options;
    },

    async register(req: Request, userId: number, name: string, response: RegistrationResponseJSON): Promise<number | undefined> {
      const expectedChallenge = req.session.webauthnChallenge;
      delete req.session.webauthnChallenge;
      if (!expectedChallenge) return undefined;
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: false,
      }).catch(() => ({ verified: false as const }));
      if (!result.verified) return undefined;
      const { credential } = result.registrationInfo;
      return saveWebauthn(db, userId, name, {
        id: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: credential.transports,
      });
    },

    async authenticationOptions(req: Request, userId: number) {
      const credentials = await webauthnCredentials(db, userId);
      const options = await generateAuthenticationOptions({
        rpID,
        userVerification: 'preferred',
        allowCredentials: credentials.map((c) => ({ id: c.id, transports: c.transports as never })),
      });
      req.session.webauthnChallenge = options.challenge;
      return options;
    },

    /** The authenticator's id when the assertion is valid for one of the user's keys. */
    async authenticate(req: Request, userId: number, response: AuthenticationResponseJSON): Promise<number | undefined> {
      const expectedChallenge = req.session.webauthnChallenge;
      delete req.session.webauthnChallenge;
      const stored = (await webauthnCredentials(db, userId)).find((c) => c.id === response?.id);
      if (!expectedChallenge || !stored) return undefined;
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: false,
        credential: {
          id: stored.id,
          publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'base64url')),
          counter: stored.counter,
          transports: stored.transports as never,
        },
      }).catch(() => ({ verified: false as const, authenticationInfo: undefined }));
      if (!result.verified) return undefined;
      await touchWebauthn(db, stored.authenticatorId, {
        id: stored.id,
        publicKey: stored.publicKey,
        counter: result.authenticationInfo.newCounter,
        transports: stored.transports,
      });
      return stored.authenticatorId;
    },
  };
}
