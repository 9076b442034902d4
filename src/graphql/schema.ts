/**
 * @module graphql/schema
 * The slice of GitHub's GraphQL schema that release tooling asks for (gh's `viewer`,
 * `repository.release(tagName)`, `repository.releases(...)`, `repository.ref(qualifiedName)`,
 * `latestRelease`), with GitHub's type, field and argument names so that queries written for
 * GitHub validate unchanged. Field values come from the node classes in `nodes.ts`: graphql-js's
 * default resolver reads a property or calls a method of the same name.
 */
import { buildSchema, type GraphQLSchema } from 'graphql';

export const SDL = /* GraphQL */ `
"An ISO-8601 encoded UTC date string."
scalar DateTime
"An RFC 3986, RFC 3987, and RFC 6570 (level 4) compliant URI string."
scalar URI
"A Git object ID."
scalar GitObjectID
"A string containing HTML code."
scalar HTML

"An object with an ID."
interface Node {
  "ID of the object."
  id: ID!
}

"Represents an object which can take actions on GitHub. Typically a User or Bot."
interface Actor {
  avatarUrl(size: Int): URI!
  login: String!
  resourcePath: URI!
  url: URI!
}

"Represents an owner of a Repository."
interface RepositoryOwner {
  avatarUrl(size: Int): URI!
  id: ID!
  login: String!
  resourcePath: URI!
  url: URI!
  repository(name: String!, followRenames: Boolean = true): Repository
}

"The query root of GitHub's GraphQL interface."
type Query {
  "The currently authenticated user."
  viewer: User!
  "Lookup a given repository by the owner and repository name."
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  "Lookup a user by login."
  user(login: String!): User
  "Lookup a organization by login."
  organization(login: String!): Organization
  "Lookup a repository owner (ie. either a User or an Organization) by login."
  repositoryOwner(login: String!): RepositoryOwner
  "Fetches an object given its ID."
  node(id: ID!): Node
  "Lookup nodes by a list of IDs."
  nodes(ids: [ID!]!): [Node]!
  "The client's rate limit information."
  rateLimit(dryRun: Boolean = false): RateLimit
}

"Represents the client's rate limit."
type RateLimit {
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}

"A user is an individual's account on GitHub that owns repositories and can make new content."
type User implements Node & Actor & RepositoryOwner {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  email: String!
  avatarUrl(size: Int): URI!
  isSiteAdmin: Boolean!
  isViewer: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  resourcePath: URI!
  url: URI!
  repository(name: String!, followRenames: Boolean = true): Repository
}

"An account on GitHub, with one or more owners, that has repositories, members and teams."
type Organization implements Node & Actor & RepositoryOwner {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  avatarUrl(size: Int): URI!
  createdAt: DateTime!
  updatedAt: DateTime!
  resourcePath: URI!
  url: URI!
  repository(name: String!, followRenames: Boolean = true): Repository
}

"The repository's visibility level."
enum RepositoryVisibility {
  INTERNAL
  PRIVATE
  PUBLIC
}

"The access level to a repository."
enum RepositoryPermission {
  ADMIN
  MAINTAIN
  WRITE
  TRIAGE
  READ
}

"A repository contains the content for a project."
type Repository implements Node {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  owner: RepositoryOwner!
  description: String
  homepageUrl: URI
  isPrivate: Boolean!
  visibility: RepositoryVisibility!
  createdAt: DateTime!
  updatedAt: DateTime!
  pushedAt: DateTime
  resourcePath: URI!
  url: URI!
  viewerPermission: RepositoryPermission
  viewerCanAdminister: Boolean!
  "The Ref associated with the repository's default branch."
  defaultBranchRef: Ref
  "Lookup a single release given various criteria."
  release(tagName: String!): Release
  "List of releases which are dependent on this repository."
  releases(after: String, before: String, first: Int, last: Int, orderBy: ReleaseOrder): ReleaseConnection!
  "Get the latest release for the repository if one exists."
  latestRelease: Release
  "Fetch a given ref from the repository"
  ref(qualifiedName: String!): Ref
  "Fetch a list of refs from the repository"
  refs(after: String, before: String, first: Int, last: Int, refPrefix: String!, direction: OrderDirection): RefConnection
}

"Possible directions in which to order a list of items when provided an \`orderBy\` argument."
enum OrderDirection {
  ASC
  DESC
}

"Properties by which release connections can be ordered."
enum ReleaseOrderField {
  CREATED_AT
  NAME
}

"Ways in which lists of releases can be ordered upon return."
input ReleaseOrder {
  field: ReleaseOrderField!
  direction: OrderDirection!
}

"Information about pagination in a connection."
type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

"A release contains the content for a release."
type Release implements Node {
  id: ID!
  databaseId: Int
  name: String
  tagName: String!
  "The Git tag the release points to"
  tag: Ref
  "The tag commit for this release."
  tagCommit: Commit
  description: String
  isDraft: Boolean!
  isLatest: Boolean!
  isPrerelease: Boolean!
  isImmutable: Boolean!
  author: User
  createdAt: DateTime!
  publishedAt: DateTime
  updatedAt: DateTime!
  resourcePath: URI!
  url: URI!
  repository: Repository!
  releaseAssets(after: String, before: String, first: Int, last: Int, name: String): ReleaseAssetConnection!
}

"The connection type for Release."
type ReleaseConnection {
  edges: [ReleaseEdge]
  nodes: [Release]
  pageInfo: PageInfo!
  totalCount: Int!
}

"An edge in a connection."
type ReleaseEdge {
  cursor: String!
  node: Release
}

"A release asset contains the content for a release asset."
type ReleaseAsset implements Node {
  id: ID!
  databaseId: Int
  name: String!
  contentType: String!
  size: Int!
  digest: String
  downloadCount: Int!
  downloadUrl: URI!
  createdAt: DateTime!
  updatedAt: DateTime!
  url: URI!
  release: Release
  uploadedBy: User!
}

"The connection type for ReleaseAsset."
type ReleaseAssetConnection {
  edges: [ReleaseAssetEdge]
  nodes: [ReleaseAsset]
  pageInfo: PageInfo!
  totalCount: Int!
}

"An edge in a connection."
type ReleaseAssetEdge {
  cursor: String!
  node: ReleaseAsset
}

"Represents a Git reference."
type Ref implements Node {
  id: ID!
  name: String!
  prefix: String!
  target: GitObject
  repository: Repository!
}

"The connection type for Ref."
type RefConnection {
  edges: [RefEdge]
  nodes: [Ref]
  pageInfo: PageInfo!
  totalCount: Int!
}

"An edge in a connection."
type RefEdge {
  cursor: String!
  node: Ref
}

"Represents a Git object."
interface GitObject {
  id: ID!
  oid: GitObjectID!
  abbreviatedOid: String!
  commitUrl: URI!
  repository: Repository!
}

"Represents a Git commit."
type Commit implements Node & GitObject {
  id: ID!
  oid: GitObjectID!
  abbreviatedOid: String!
  commitUrl: URI!
  url: URI!
  resourcePath: URI!
  message: String!
  messageHeadline: String!
  committedDate: DateTime!
  authoredDate: DateTime!
  repository: Repository!
}

"Represents a Git tag."
type Tag implements Node & GitObject {
  id: ID!
  oid: GitObjectID!
  abbreviatedOid: String!
  commitUrl: URI!
  name: String!
  target: GitObject!
  repository: Repository!
}
`;

export function buildWharfSchema(): GraphQLSchema {
  return buildSchema(SDL);
}
